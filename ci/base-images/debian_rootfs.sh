#!/usr/bin/env bash
# Builds a root filesystem equivalent to the official debian:<suite>-slim
# image from Debian's own packages, with no container registry involved:
#   debootstrap (minbase) -> current security and point-release updates ->
#   the container-friendly apt/dpkg settings the official images carry ->
#   slimmed (no docs, man pages, locales; copyright files kept).
# Usage: debian_rootfs.sh SUITE ROOTFS_DIR   (run as root; ROOTFS_DIR must not exist)
set -euo pipefail

suite=${1:?usage: debian_rootfs.sh SUITE ROOTFS_DIR}
root=${2:?usage: debian_rootfs.sh SUITE ROOTFS_DIR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

[[ $EUID -eq 0 ]] || { echo "error: debian_rootfs.sh must run as root (debootstrap needs it)" >&2; exit 1; }
[[ ! -e $root ]] || { echo "error: $root already exists: pass a new directory" >&2; exit 1; }

debootstrap --variant=minbase --keyring="$keyring" "$suite" "$root" "$mirror" >&2

in_root() {
    chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"
}

# Package scripts must never try to start services inside an image build.
printf '#!/bin/sh\n# No init system in a container: never start services from package scripts.\nexit 101\n' \
    >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# Same sources as the official image: release, point updates, security.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: $keyring

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: main
Signed-By: $keyring
SOURCES

# Files an image never needs; dpkg skips them for every later install too.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
# Slim image: no documentation, manual pages or translations.
# Copyright files stay: they are the licence terms of what is installed.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
DPKG

# apt settings for images: downloaded archives and the binary package cache
# are deleted after each run so they never end up in a layer (Dockerfiles
# that want an apt cache mount remove this file, see claim C9).
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
cat >"$root/etc/apt/apt.conf.d/docker-no-languages" <<'APT'
Acquire::Languages "none";
APT
cat >"$root/etc/apt/apt.conf.d/docker-gzip-indexes" <<'APT'
Acquire::GzipIndexes "true";
APT
cat >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests" <<'APT'
Apt::AutoRemove::SuggestsImportant "false";
APT

mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
in_root apt-get update -q >&2
in_root apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade >&2
in_root apt-get -y -q autoremove --purge >&2
in_root apt-get clean
umount "$root/proc"
trap - EXIT

# What debootstrap installed before the excludes existed.
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/*

# Host- and run-specific state that must not be frozen into an image.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/lib/dpkg/*-old "$root"/var/log/* "$root"/tmp/* "$root"/var/tmp/* "$root"/debootstrap
: >"$root/etc/machine-id"
: >"$root/etc/hostname"
: >"$root/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
