# Offline equivalent of the official rust:<version>-slim-bookworm image, built
# from the mirrored Debian base and this host's Rust toolchain (no download):
# same layout (RUSTUP_HOME, CARGO_HOME, PATH, RUST_VERSION), same OS packages
# (gcc, libc6-dev, ca-certificates), toolchain components rustc, cargo,
# rust-std, clippy and rustfmt.
#
# Named build contexts (see ci/mirror_base_images.sh):
#   toolchain  the host toolchain's sysroot (rustc --print sysroot)
#   rustup     a directory holding the rustup binary
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}

ARG RUST_VERSION
ARG RUST_HOST_TRIPLE=x86_64-unknown-linux-gnu
ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    RUST_VERSION=${RUST_VERSION}

RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev; \
    rm -rf /var/lib/apt/lists/*

# One RUN: the full host toolchain (1.4 GB with docs) is only bind-mounted,
# so nothing but the trimmed copy reaches the layer.
RUN --mount=type=bind,from=rustup,target=/mnt/rustup \
    --mount=type=bind,from=toolchain,target=/mnt/toolchain \
    set -eux; \
    test -n "$RUST_VERSION"; \
    cp /mnt/rustup/rustup /tmp/rustup-init; \
    /tmp/rustup-init -y -q --no-modify-path --profile minimal \
        --default-toolchain none --default-host "$RUST_HOST_TRIPLE"; \
    rm /tmp/rustup-init; \
    toolchain_dir="$RUSTUP_HOME/toolchains/$RUST_VERSION-$RUST_HOST_TRIPLE"; \
    mkdir -p "$toolchain_dir"; \
    cp -a /mnt/toolchain/. "$toolchain_dir/"; \
    rustup default "$RUST_VERSION"; \
    for component in $(rustup component list --installed); do \
        case "${component%-"$RUST_HOST_TRIPLE"}" in \
            rustc|cargo|rust-std|clippy|rustfmt) ;; \
            *) rustup component remove "${component%-"$RUST_HOST_TRIPLE"}" ;; \
        esac; \
    done; \
    chmod -R a+w "$RUSTUP_HOME" "$CARGO_HOME"; \
    rustup --version; cargo --version; rustc --version; \
    test "$(rustc --version | cut -d' ' -f2)" = "$RUST_VERSION"
