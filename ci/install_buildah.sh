#!/usr/bin/env bash
# Installs buildah, the daemonless builder the suite builds ci/Dockerfile.cb
# with (CI3), from Debian's archive: the version the host's release packages
# when it is recent enough, else trixie's (the source ci/bootstrap_host.sh
# adds on bookworm). It runs rootful on the overlay driver, with its store
# under /var/lib/containers; no daemon is started.
#
# Usage: ci/install_buildah.sh [--check]
#   --check  install nothing: fail with one line when buildah is missing
# Prints the installed version on stdout. Idempotent: when a recent enough
# buildah runs already it installs nothing.
set -euo pipefail
CI_SCRIPT_NAME=install_buildah
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# bookworm's 1.28 rejects HEALTHCHECK --start-interval, which the runner
# contract uses; 1.39 (trixie) is the oldest verified to build it.
MIN_VERSION=1.39
# netavark is the network backend buildah looks for when it creates a
# build container, even when RUN steps share the host's network.
PACKAGES=(buildah netavark)

installed_version() {
    buildah --version 2>/dev/null | awk '{ print $3 }'
}

packages_installed() {
    local package
    for package in "${PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" == installed ]] || return 1
    done
}

recent_enough() {
    [[ -n $1 ]] && dpkg --compare-versions "$1" ge "$MIN_VERSION"
}

# The suite to install from: the host's own when its buildah is recent
# enough, else trixie; empty when no configured source has one.
install_suite() {
    local codename suite version
    codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    for suite in "$codename" trixie; do
        [[ -n $suite ]] || continue
        version=$(apt-cache madison buildah 2>/dev/null |
            awk -F' [|] ' -v suite="$suite" '$3 ~ (" " suite "/") { print $2; exit }')
        if recent_enough "$version"; then
            printf '%s' "$suite"
            return
        fi
    done
}

ci_install_options "${BASH_SOURCE[0]}" "$@"

version=$(installed_version) || true
if recent_enough "$version" && packages_installed; then
    printf '%s\n' "$version"
    exit 0
fi
"$CI_CHECK_ONLY" &&
    ci_die "buildah >= $MIN_VERSION with ${PACKAGES[*]} is not installed (found: ${version:-none}): run ci/setup.sh"

command -v apt-get >/dev/null ||
    ci_die "buildah >= $MIN_VERSION is missing and this host has no apt-get: install it, then rerun"
ci_as_root apt-get update -q >&2 ||
    ci_die "apt-get update failed: check the apt sources and network access to the Debian archive"
suite=$(install_suite)
[[ -n $suite ]] ||
    ci_die "no apt source offers buildah >= $MIN_VERSION: add Debian trixie (ci/bootstrap_host.sh does on bookworm), then rerun"
ci_log "installing ${PACKAGES[*]} from $suite"
ci_as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends -t "$suite" "${PACKAGES[@]}" >&2 ||
    ci_die "could not install ${PACKAGES[*]} from $suite: see the apt output above"
version=$(installed_version) || true
recent_enough "$version" ||
    ci_die "buildah ${version:-(not runnable)} after installing from $suite, $MIN_VERSION or newer needed: try buildah info to see why"
ci_log "installed buildah $version"
printf '%s\n' "$version"
