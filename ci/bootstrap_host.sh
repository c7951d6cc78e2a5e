#!/usr/bin/env bash
# Prepares a Debian host to build and test the project:
#   - Docker Engine >= 26 with buildx and the compose v2 plugin, using the
#     containerd image store (needed for registry cache export with mode=max
#     and for rewriting layer timestamps);
#   - the project's registry (Debian's docker-registry) on 127.0.0.1:5000;
#   - the host packages the workspace build and tests need;
#   - the Rust toolchain name pinned by rust-toolchain.toml.
# Idempotent: on a host where all of this is in place it changes nothing and
# says so. When a step cannot be done it prints one line saying why and exits
# non-zero.
set -euo pipefail
CI_SCRIPT_NAME=bootstrap_host
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Everything the build and the tests call on the host, in one place:
# protoc generates the gRPC code, dig queries the DNS interface, debootstrap
# builds the offline base images, docker-registry serves the mirror.
HOST_PACKAGES=(protobuf-compiler dnsutils debootstrap docker-registry curl jq ca-certificates)
ENGINE_PACKAGES=(docker.io docker-buildx docker-compose)
ENGINE_MIN_MAJOR=26
# bookworm ships docker.io 20.10; trixie's 26.x installs cleanly on bookworm.
ENGINE_SUITE_FOR_BOOKWORM=trixie
DAEMON_JSON=/etc/docker/daemon.json
# The build cache the engine keeps at most (builder.gc.defaultKeepStorage).
BUILD_CACHE_CEILING=25GB
REGISTRY_CONFIG="$CI_REPO_ROOT/ci/registry.yml"
LOG_DIR="${CI_LOG_DIR:-/var/log}"
STARTUP_TIMEOUT_SECS=60

changes=()

note_change() {
    changes+=("$1")
    ci_log "$1"
}

os_release_field() {
    # Sourced in a subshell so the file's variables don't leak into ours.
    (. /etc/os-release && printf '%s' "${!1:-}")
}

is_debian_like() {
    [[ -r /etc/os-release ]] || return 1
    [[ "$(os_release_field ID)" == debian || " $(os_release_field ID_LIKE) " == *" debian "* ]]
}

has_systemd() {
    [[ -d /run/systemd/system ]]
}

missing_packages() {
    local pkg
    for pkg in "$@"; do
        if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]]; then
            printf '%s\n' "$pkg"
        fi
    done
}

# An engine installed some other way (Docker's own packages, or the one a
# hosted CI runner comes with) is used as it is: Debian's docker.io would
# conflict with it. check_engine then says what, if anything, it lacks.
engine_installed_elsewhere() {
    command -v dockerd >/dev/null 2>&1 && [[ -n "$(missing_packages docker.io)" ]]
}

uses_containerd_store() {
    docker info -f '{{json .DriverStatus}}' 2>/dev/null | grep -q 'io.containerd.snapshotter'
}

# Adds the newer suite as a source that apt never picks on its own
# (priority 100 < 500): only packages installed with -t come from it.
add_engine_suite() {
    local suite=$1
    local sources=/etc/apt/sources.list.d/debian-$suite.sources
    local pin=/etc/apt/preferences.d/debian-$suite
    if [[ -f $sources && -f $pin ]]; then
        return
    fi
    ci_as_root tee "$sources" >/dev/null <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    ci_as_root tee "$pin" >/dev/null <<PIN
# Only packages explicitly requested with -t $suite come from $suite.
Package: *
Pin: release n=$suite
Pin-Priority: 100
PIN
    note_change "added the $suite apt source (pinned at priority 100) for the Docker Engine packages"
}

apt_install() {
    ci_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
}

# Without systemd, package scripts would start daemons through their init
# scripts; we start them ourselves with our own logs, so forbid it meanwhile.
install_without_starting_daemons() {
    local policy=/usr/sbin/policy-rc.d
    if has_systemd || [[ -e $policy ]]; then
        apt_install "$@"
        return
    fi
    ci_as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    local status=0
    apt_install "$@" || status=$?
    ci_as_root rm -f "$policy"
    return "$status"
}

install_packages() {
    local missing_host missing_engine suite=""
    mapfile -t missing_host < <(missing_packages "${HOST_PACKAGES[@]}")
    missing_engine=()
    if ! engine_installed_elsewhere; then
        mapfile -t missing_engine < <(missing_packages "${ENGINE_PACKAGES[@]}")
    fi
    if ((${#missing_host[@]} == 0 && ${#missing_engine[@]} == 0)); then
        return
    fi
    is_debian_like || ci_die "missing ${missing_host[*]} ${missing_engine[*]} and this is not Debian: install Docker Engine >= $ENGINE_MIN_MAJOR with buildx and compose, a registry on 127.0.0.1:5000 and those tools, then rerun"
    if ((${#missing_engine[@]} > 0)) && [[ "$(os_release_field VERSION_CODENAME)" == bookworm ]]; then
        suite=$ENGINE_SUITE_FOR_BOOKWORM
        add_engine_suite "$suite"
    fi
    ci_log "updating apt package lists"
    ci_as_root apt-get update -q >&2 || ci_die "apt-get update failed: check the apt sources and network access to the Debian archive"
    if ((${#missing_host[@]} > 0)); then
        install_without_starting_daemons "${missing_host[@]}" ||
            ci_die "could not install ${missing_host[*]}: see the apt output above"
        note_change "installed ${missing_host[*]}"
    fi
    if ((${#missing_engine[@]} > 0)); then
        install_without_starting_daemons ${suite:+-t "$suite"} "${missing_engine[@]}" ||
            ci_die "could not install ${missing_engine[*]}${suite:+ from $suite}: see the apt output above"
        note_change "installed ${missing_engine[*]}${suite:+ from $suite}"
    fi
}

# The containerd image store, and a ceiling on the build cache (every
# build adds layers; without a ceiling the collector only steps in when the
# disk is nearly full, which on a thinly provisioned disk can be too late).
# Merged into an existing daemon.json, so other settings are kept.
configure_engine() {
    local current='{}' merged
    if [[ -f $DAEMON_JSON ]]; then
        current=$(cat "$DAEMON_JSON")
    fi
    merged=$(jq --arg keep "$BUILD_CACHE_CEILING" '
        .features["containerd-snapshotter"] = true
        | .builder.gc.enabled |= (if . == null then true else . end)
        | .builder.gc.defaultKeepStorage |= (if . == null then $keep else . end)' <<<"$current") ||
        ci_die "$DAEMON_JSON is not valid JSON: fix it, then rerun"
    if [[ "$(jq -S . <<<"$merged")" == "$(jq -S . <<<"$current")" ]]; then
        return
    fi
    ci_as_root mkdir -p "$(dirname "$DAEMON_JSON")"
    ci_as_root tee "$DAEMON_JSON" >/dev/null <<<"$merged"
    note_change "set the containerd image store and a ${BUILD_CACHE_CEILING} build cache ceiling in $DAEMON_JSON"
}

start_detached() {
    local log=$1
    shift
    # shellcheck disable=SC2016 # expanded by the inner shell, on purpose
    ci_as_root sh -c 'log=$1; shift; setsid nohup "$@" >>"$log" 2>&1 </dev/null &' sh "$log" "$@"
}

# On a CI runner (CI is set) whose preinstalled engine runs with the classic
# image store, the store is switched and the engine restarted: nothing on a
# fresh runner depends on the old store. On anyone else's machine that
# would hide their images, so check_engine asks them to do it instead.
switch_ci_engine_store() {
    if [[ -z ${CI:-} ]] || ! has_systemd || uses_containerd_store; then
        return
    fi
    configure_engine
    ci_as_root systemctl restart docker.service >&2 ||
        ci_die "systemctl could not restart docker.service: see journalctl -u docker"
    ci_wait_for "Docker Engine" "$STARTUP_TIMEOUT_SECS" ci_engine_answers ||
        ci_die "dockerd did not answer within ${STARTUP_TIMEOUT_SECS}s after the restart: see journalctl -u docker"
    note_change "switched the CI runner's engine to the containerd image store"
}

start_engine() {
    if ci_engine_answers; then
        switch_ci_engine_store
        return
    fi
    if has_systemd; then
        ci_as_root systemctl enable --now docker.service >&2 ||
            ci_die "systemctl could not start docker.service: see journalctl -u docker"
        ci_as_root systemctl restart docker.service >&2
    else
        start_detached "$LOG_DIR/dockerd.log" dockerd
    fi
    ci_wait_for "Docker Engine" "$STARTUP_TIMEOUT_SECS" ci_engine_answers ||
        ci_die "dockerd did not answer within ${STARTUP_TIMEOUT_SECS}s: see $LOG_DIR/dockerd.log"
    note_change "started dockerd"
}

check_engine() {
    local version major
    version=$(docker version -f '{{.Server.Version}}' 2>/dev/null) ||
        ci_die "cannot read the Docker Engine version: is the docker client able to reach the daemon?"
    major=${version%%.*}
    ((major >= ENGINE_MIN_MAJOR)) ||
        ci_die "Docker Engine $version is too old: version $ENGINE_MIN_MAJOR or newer is needed"
    uses_containerd_store ||
        ci_die "the running engine does not use the containerd image store: set features.containerd-snapshotter=true in $DAEMON_JSON and restart dockerd"
    docker buildx version >/dev/null 2>&1 ||
        ci_die "docker buildx is not available: install the docker-buildx package"
    docker compose version >/dev/null 2>&1 ||
        ci_die "docker compose (v2 plugin) is not available: install the docker-compose package"
}

start_registry() {
    if ci_registry_answers; then
        return
    fi
    if has_systemd && systemctl list-unit-files docker-registry.service >/dev/null 2>&1; then
        ci_as_root systemctl enable --now docker-registry.service >&2 || true
    fi
    if ! ci_registry_answers; then
        ci_as_root mkdir -p /var/lib/docker-registry
        start_detached "$LOG_DIR/docker-registry.log" docker-registry serve "$REGISTRY_CONFIG"
    fi
    ci_wait_for "registry on $CI_REGISTRY" "$STARTUP_TIMEOUT_SECS" ci_registry_answers ||
        ci_die "the registry did not answer on $CI_REGISTRY within ${STARTUP_TIMEOUT_SECS}s: see $LOG_DIR/docker-registry.log"
    note_change "started the registry on $CI_REGISTRY"
}

rustup_bin() {
    command -v rustup 2>/dev/null || { [[ -x $HOME/.cargo/bin/rustup ]] && printf '%s' "$HOME/.cargo/bin/rustup"; }
}

# rust-toolchain.toml pins an exact version. Where that toolchain name is
# missing but the installed stable is that very version, a link makes the
# pin resolve without any download (this host may be offline).
ensure_rust_toolchain() {
    local pinned rustup stable_sysroot stable_version
    pinned=$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' "$CI_REPO_ROOT/rust-toolchain.toml")
    [[ -n $pinned ]] || ci_die "no channel found in rust-toolchain.toml"
    rustup=$(rustup_bin) || ci_die "rustup is not installed: install it from https://rustup.rs, then rerun"
    if "$rustup" toolchain list | grep -q "^$pinned-"; then
        return
    fi
    stable_version=$("$rustup" run stable rustc --version 2>/dev/null | awk '{print $2}') || true
    if [[ $stable_version != "$pinned" ]]; then
        ci_die "Rust toolchain $pinned is missing (stable is ${stable_version:-not installed}): run rustup toolchain install $pinned"
    fi
    stable_sysroot=$("$rustup" run stable rustc --print sysroot)
    "$rustup" toolchain link "$pinned" "$stable_sysroot"
    note_change "linked Rust toolchain $pinned to the installed stable ($stable_sysroot)"
}

main() {
    if [[ $# -gt 0 ]]; then
        ci_die "bootstrap_host.sh takes no arguments (got: $*)"
    fi
    install_packages
    ci_engine_answers || configure_engine
    start_engine
    check_engine
    start_registry
    ensure_rust_toolchain
    if ((${#changes[@]} == 0)); then
        ci_log "host ready; nothing changed"
    else
        ci_log "host ready; ${#changes[@]} change(s) made"
    fi
}

main "$@"
