# The naive way, kept only to be measured against docker/Dockerfile: the
# whole build context copied in, one release build, and the build image
# itself shipped. Every change to any file rebuilds every dependency.
#
# Like the other two ways in the benchmark it builds the service package
# only (-p SERVICE), so all three compile the same crates.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG SERVICE=service_discovery

# Toolchain, build dependencies, the source and the build, in one stage.
FROM ${RUST_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends protobuf-compiler \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
ARG SERVICE
# The optional CA bundle secret is the one BuildKit feature kept: behind a
# TLS-intercepting proxy nothing would download without it.
RUN --mount=type=secret,id=ca_bundle,required=false \
    if [ -s /run/secrets/ca_bundle ]; then export CARGO_HTTP_CAINFO=/run/secrets/ca_bundle; fi \
    && cargo build --release --locked -p "${SERVICE}"
ENTRYPOINT ["/app/target/release/service_discovery"]
CMD ["foreground"]
