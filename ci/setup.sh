#!/usr/bin/env bash
# Prepares this host for everything the tests run, in one idempotent step:
# the container host (engine, registry, host packages, toolchain), the
# mirrored base images, and the pinned tools the suite calls (buildah, the
# CI-definition validators, the book tools). ci/up.sh runs it first, and so
# do the CI definitions' test jobs, so no test ever installs anything: a
# test that finds a tool missing names this script.
#
# Usage: ci/setup.sh [--offline|--from-upstream]
#   --offline        build the base images here from Debian's packages (default)
#   --from-upstream  copy the official base images (see ci/mirror_base_images.sh)
set -euo pipefail
CI_SCRIPT_NAME=setup
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mirror_source=--offline
case "${1:-}" in
    "") ;;
    --offline | --from-upstream) mirror_source=$1 ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) ci_die "unknown argument $1 (usage: ci/setup.sh [--offline|--from-upstream])" ;;
esac
(($# <= 1)) || ci_die "too many arguments (usage: ci/setup.sh [--offline|--from-upstream])"

# Order matters: buildah comes from the apt source the bootstrap adds on
# bookworm, and the mirror needs the engine and registry it starts.
"$CI_REPO_ROOT/ci/bootstrap_host.sh"
"$CI_REPO_ROOT/ci/mirror_base_images.sh" "$mirror_source"
buildah_version=$("$CI_REPO_ROOT/ci/install_buildah.sh")
validators_dir=$("$CI_REPO_ROOT/ci/install_ci_validators.sh")
book_tools_dir=$("$CI_REPO_ROOT/ci/install_book_tools.sh")
ci_log "ready: buildah $buildah_version, validators in ${validators_dir#"$CI_REPO_ROOT"/}, book tools in $book_tools_dir"
