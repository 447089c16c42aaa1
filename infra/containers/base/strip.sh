#!/usr/bin/env bash
# Makes a debootstrap root filesystem small and keeps it so: no docs, man pages, locales or apt
# lists now, and dpkg skips them (and apt skips recommends) for packages the images add later.
set -euo pipefail
root="$1"
[[ -d "$root/etc/dpkg" ]] || {
  echo "strip.sh: $root is not a root filesystem" >&2
  exit 2
}
cat >"$root/etc/dpkg/dpkg.cfg.d/01-xspectre-nodoc" <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
CFG
cat >"$root/etc/apt/apt.conf.d/01-xspectre-small" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Dpkg::Use-Pty "false";
CFG
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/locale" "$root/usr/share/lintian"
mkdir -p "$root/usr/share/man" "$root/usr/share/locale"
rm -rf "$root/var/lib/apt/lists" "$root/var/cache/apt"/*.bin "$root/var/cache/apt/archives"/*.deb "$root/var/log"/*.log
mkdir -p "$root/var/lib/apt/lists/partial"
: >"$root/etc/machine-id"
