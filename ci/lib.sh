# shellcheck shell=bash
# Shared shell functions for the scripts under ci/. Source it, don't run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Every function that can fail prints one line saying what to do and exits.

# Failures inside $(...) abort the script too, as they would outside.
shopt -s inherit_errexit

# The repository root, wherever the clone lives.
CI_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where the project's own registry listens; images are mirrored below it.
CI_REGISTRY="${CI_REGISTRY:-localhost:5000}"
# Where mirrored base images live inside it.
CI_MIRROR_PREFIX="${CI_MIRROR_PREFIX:-$CI_REGISTRY/mirror}"
# Written by ci/mirror_base_images.sh, read by every build script.
CI_BASE_IMAGES_LOCK="${CI_BASE_IMAGES_LOCK:-$CI_REPO_ROOT/ci/base-images.lock}"
# Trusted by fetching build steps when a TLS-intercepting proxy sits between
# the build and the internet; absent on most hosts, which is fine.
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

ci_log() {
    printf '%s: %s\n' "${CI_SCRIPT_NAME:-${0##*/}}" "$*" >&2
}

ci_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, else through sudo.
ci_as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        ci_die "this step needs root and sudo is not installed: rerun as root"
    fi
}

ci_engine_answers() {
    docker info >/dev/null 2>&1
}

ci_registry_answers() {
    curl -fsS --max-time 2 "http://${CI_REGISTRY}/v2/" >/dev/null 2>&1
}

# Stops the script with one line when the engine or the registry is down.
ci_require_engine() {
    local problem
    if ! problem=$(docker info 2>&1 >/dev/null); then
        ci_die "Docker engine not reachable ($(grep -m1 . <<<"$problem")): run ci/bootstrap_host.sh"
    fi
}

ci_require_registry() {
    ci_registry_answers ||
        ci_die "registry not answering on http://$CI_REGISTRY/v2/: run ci/bootstrap_host.sh"
}

# Polls a check function until it succeeds or the timeout (seconds) passes.
ci_wait_for() {
    local what=$1 timeout=$2 check=$3 waited=0
    until "$check"; do
        if ((waited >= timeout)); then
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    ci_log "$what answers"
}

# The exact Rust version rust-toolchain.toml pins (e.g. 1.95.0).
ci_rust_version() {
    local version
    version=$(sed -n 's/^channel *= *"\([0-9.]*\)".*/\1/p' "$CI_REPO_ROOT/rust-toolchain.toml")
    [[ -n $version ]] || ci_die "rust-toolchain.toml pins no exact version (channel = \"X.Y.Z\")"
    printf '%s' "$version"
}

# Reads an installer's one optional argument into CI_CHECK_ONLY: --check
# means install nothing and fail with one line naming ci/setup.sh, which is
# how the suite asks whether a pinned tool is there; -h prints the header
# comment of the script (its first argument).
ci_install_options() {
    local script=$1
    shift
    # The installer that sourced this file reads CI_CHECK_ONLY.
    # shellcheck disable=SC2034
    CI_CHECK_ONLY=false
    # shellcheck disable=SC2034
    case "${1:-}" in
        "") ;;
        --check) CI_CHECK_ONLY=true ;;
        -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$script"; exit 0 ;;
        *) ci_die "unknown argument $1 (usage: ci/${script##*/} [--check])" ;;
    esac
    (($# <= 1)) || ci_die "too many arguments (usage: ci/${script##*/} [--check])"
}

# ANCHOR: service_name
# The service: the workspace package whose manifest has a
# [package.metadata.container] table (its container contract). Its binary,
# its directory and its images are named after it, so renaming the package
# renames them all. Prints the package's cargo metadata as JSON.
ci_service_package() {
    local metadata packages
    command -v cargo >/dev/null || ci_die "cargo not found: install Rust through rustup first"
    metadata=$(cargo metadata --no-deps --offline --format-version 1 \
        --manifest-path "$CI_REPO_ROOT/Cargo.toml" 2>/dev/null) ||
        ci_die "cargo metadata cannot read the workspace: run cargo metadata --no-deps to see why"
    packages=$(jq -c '[.packages[] | select(.metadata.container != null)]' <<<"$metadata")
    jq -e 'length == 1' <<<"$packages" >/dev/null ||
        ci_die "exactly one workspace package must have a [package.metadata.container] table (found: $(jq -r 'map(.name) | join(", ") | if . == "" then "none" else . end' <<<"$packages"))"
    jq -c '.[0]' <<<"$packages"
}

ci_service_name() {
    ci_service_package | jq -r '.name'
}

# The ports the contract lists, as EXPOSE takes them ("3000/tcp 8053/udp").
ci_service_ports() {
    local ports
    ports=$(ci_service_package | jq -r '.metadata.container.ports // [] | join(" ")')
    [[ -n $ports ]] || ci_die "the [package.metadata.container] table lists no ports: add ports = [\"3000/tcp\"]"
    printf '%s' "$ports"
}
# ANCHOR_END: service_name

# ANCHOR: base_images
# Every base image the Dockerfiles use, as "upstream-name BUILD_ARG", in
# build order (the offline rust and postgres images derive from debian, the
# build tools from rust). build-tools has no upstream: it is docker/Dockerfile's
# build_tools stage, built here once and pinned like the others.
ci_base_images() {
    local rust_minor
    rust_minor=$(ci_rust_version | cut -d. -f1,2)
    printf '%s\n' \
        "debian:bookworm-slim RUNNER_IMAGE" \
        "rust:${rust_minor}-slim-bookworm RUST_IMAGE" \
        "build-tools:${rust_minor}-slim-bookworm BUILD_TOOLS_IMAGE" \
        "postgres:15-bookworm POSTGRES_IMAGE"
}
# ANCHOR_END: base_images

# Where an upstream image lives in the project's registry.
ci_mirror_name() {
    printf '%s/%s' "$CI_MIRROR_PREFIX" "$1"
}

# The pinned reference (mirrored name@sha256:...) of an upstream image.
ci_locked_ref() {
    local upstream=$1 ref
    [[ -f $CI_BASE_IMAGES_LOCK ]] ||
        ci_die "base image lock ${CI_BASE_IMAGES_LOCK#"$CI_REPO_ROOT"/} is missing: run ci/mirror_base_images.sh first"
    ref=$(awk -v up="$upstream" '$1 == up { print $2 }' "$CI_BASE_IMAGES_LOCK")
    [[ $ref == *@sha256:* ]] ||
        ci_die "no pinned digest for $upstream in ${CI_BASE_IMAGES_LOCK#"$CI_REPO_ROOT"/}: run ci/mirror_base_images.sh first"
    printf '%s' "$ref"
}

# ANCHOR: base_image_build_args
# Appends --build-arg RUNNER_IMAGE=... RUST_IMAGE=... BUILD_TOOLS_IMAGE=... POSTGRES_IMAGE=...
# (mirrored, pinned by digest) to the named array.
ci_base_image_build_args() {
    # shellcheck disable=SC2178 # a nameref to the caller's array
    local -n ci_out=$1
    local upstream arg ref
    while read -r upstream arg; do
        ref=$(ci_locked_ref "$upstream") || exit 1
        ci_out+=(--build-arg "$arg=$ref")
    done < <(ci_base_images)
}
# ANCHOR_END: base_image_build_args

# ANCHOR: ca_secret
# Appends the host CA bundle as the optional BuildKit secret `ca_bundle` to
# the named array, when the bundle exists. Only fetching RUN steps mount it
# (required=false), so it never reaches a layer.
ci_ca_secret_args() {
    # shellcheck disable=SC2178 # a nameref to the caller's array
    local -n ci_out=$1
    if [[ -f $CA_BUNDLE ]]; then
        ci_out+=(--secret "id=ca_bundle,src=$CA_BUNDLE")
    fi
}
# ANCHOR_END: ca_secret

# Both of the above: what every project image build passes.
ci_build_args() {
    ci_base_image_build_args "$1"
    ci_ca_secret_args "$1"
}

# Digest of a tag in the project's registry, empty when the tag is absent.
# The Accept list covers single- and multi-platform manifests so the
# registry reports the digest of what it stores, unconverted.
ci_registry_digest() {
    local name=${1#"$CI_REGISTRY"/}
    local repo=${name%:*} tag=${name##*:}
    curl -fsS --max-time 5 -I \
        -H 'Accept: application/vnd.oci.image.index.v1+json' \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$CI_REGISTRY/v2/$repo/manifests/$tag" 2>/dev/null |
        tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }'
}
