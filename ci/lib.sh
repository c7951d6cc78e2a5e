# Shared shell functions for the scripts under ci/. Source it, don't run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Every function that can fail prints one line saying what to do and exits.

# The repository root, wherever the clone lives.
CI_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where the project's own registry listens; images are mirrored below it.
CI_REGISTRY="${CI_REGISTRY:-localhost:5000}"
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
