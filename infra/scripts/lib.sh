#!/usr/bin/env bash
# Shared helpers for infra/scripts/*.sh. Source it, do not run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Safe under `set -euo pipefail`. Targets Debian 12 (apt, no systemd as PID 1 required).

if [[ -n "${XSPECTRE_LIB_SH_LOADED:-}" ]]; then
  return 0
fi
XSPECTRE_LIB_SH_LOADED=1

# Repository root (two levels above this file).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export REPO_ROOT

# Debian packages the product itself needs on the machine that runs it. Later features
# append here (e.g. PRODUCT_APT_PACKAGES+=(wireguard-tools)). postgresql and redis-server
# are installed by ensure_postgres / ensure_redis only when the service is absent.
PRODUCT_APT_PACKAGES=(
  ca-certificates
  curl
  openssl
  postgresql-client
  redis-tools
  wireguard-tools
  wireguard-go
  iproute2
  rclone
  # The API personalises recovery stick images (mcopy into the CONFIG partition: api/src/recovery).
  mtools
)

# Debian packages the test lab needs on top (`npm test`): userspace WireGuard (no kernel
# module on these machines), network namespaces and ping for the tunnel tests, shellcheck
# for bootstrap.sh; the fleet lab (infra/lab): Docker engine and debootstrap for device
# containers, ssh-keygen for light devices' host keys; backups: restic (the devices' client),
# zfs-fuse (the backup pool's ZFS without a kernel module), age (the escrowed repository keys).
LAB_APT_PACKAGES=(
  wireguard-go
  iproute2
  iputils-ping
  shellcheck
  docker.io
  debootstrap
  openssh-client
  busybox
  chromium
  restic
  zfs-fuse
  age
  sudo
  pgbackrest
  docker-compose
  # recovery-usb/build.sh and its qemu boot test (recovery-usb/README.md).
  grub-pc-bin
  grub-efi-amd64-bin
  mtools
  dosfstools
  gdisk
  cpio
  zstd
  qemu-system-x86
  ovmf
  # infra/helm/check.sh builds its chart renderer offline from these (no helm binary in Debian).
  golang-go
  golang-github-masterminds-sprig-dev
  golang-gopkg-yaml.v3-dev
)

# Lab packages whose daemons must not start when installed (a test starts its own, on its own
# port and configuration): sshd for the SSH certificate login tests (api/test/ssh-certificate-login.spec.ts),
# caddy for the public-surface tests (infra/proxy), prometheus for promtool (the metrics tests).
LAB_APT_PACKAGES_NO_START=(
  openssh-server
  caddy
  prometheus
)

PG_HOST=127.0.0.1
PG_PORT=5432
PG_ADMIN_USER=postgres
REDIS_HOST=127.0.0.1
REDIS_PORT=6379

XSPECTRE_APT_UPDATED=0

log() {
  printf '==> %s\n' "$*"
}

warn() {
  printf '==> WARNING: %s\n' "$*" >&2
}

die() {
  printf '==> ERROR: %s\n' "$*" >&2
  exit 1
}

# Runs a command as root (directly when we are root, else through sudo).
as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $*"
  fi
}

apt_package_installed() {
  local status
  status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]]
}

# ensure_apt_packages PKG... : installs only the packages that are not installed yet.
# `apt-get update` runs at most once per shell, and only when something is missing.
# missing_apt_packages PKG... : prints those of PKG that are not installed, one per line.
missing_apt_packages() {
  local pkg
  for pkg in "$@"; do
    if ! apt_package_installed "$pkg"; then
      printf '%s\n' "$pkg"
    fi
  done
}

ensure_apt_packages() {
  local missing=()
  mapfile -t missing < <(missing_apt_packages "$@")
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  log "installing Debian packages: ${missing[*]}"
  if [[ "$XSPECTRE_APT_UPDATED" -eq 0 ]]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    XSPECTRE_APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# ensure_apt_packages_no_start PKG... : like ensure_apt_packages, but the packages' services are
# not started by their install scripts (a policy-rc.d that refuses, present only during the
# install; an existing policy-rc.d of the machine is left as it is).
ensure_apt_packages_no_start() {
  local missing=()
  mapfile -t missing < <(missing_apt_packages "$@")
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  if [[ -e /usr/sbin/policy-rc.d ]]; then
    ensure_apt_packages "${missing[@]}"
    return
  fi
  as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
  local rc=0
  ensure_apt_packages "${missing[@]}" || rc=$?
  as_root rm -f /usr/sbin/policy-rc.d
  return "$rc"
}

# wait_until SECONDS CMD... : retries CMD every 0.5 s until it succeeds or time runs out.
wait_until() {
  local timeout="$1"
  shift
  local deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.5
  done
}

postgres_ready() {
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
}

# ensure_postgres : makes sure PostgreSQL answers on 127.0.0.1:5432. Installs and starts
# the newest local cluster when needed (without systemd). A cluster this function had to
# install gets trust auth for local TCP connections, like the development machines.
ensure_postgres() {
  if ! command -v pg_isready >/dev/null 2>&1; then
    ensure_apt_packages postgresql-client
  fi
  if postgres_ready; then
    return 0
  fi
  local fresh_install=0
  if ! apt_package_installed postgresql; then
    ensure_apt_packages postgresql
    fresh_install=1
  fi
  local version
  # shellcheck disable=SC2012 # version directories are plain numbers
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)"
  if [[ -z "$version" ]]; then
    # shellcheck disable=SC2012
    version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1 || true)"
    [[ -n "$version" ]] || die "postgresql is installed but no server version found in /usr/lib/postgresql"
    log "creating PostgreSQL $version cluster 'main'"
    as_root pg_createcluster "$version" main
    fresh_install=1
  fi
  if [[ "$fresh_install" -eq 1 ]]; then
    configure_postgres_local_trust "$version"
  fi
  if ! postgres_ready; then
    log "starting PostgreSQL $version/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  elif [[ "$fresh_install" -eq 1 ]]; then
    # The package's postinst may have started it before the auth change.
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
  fi
  wait_until 30 postgres_ready || die "PostgreSQL did not become ready on $PG_HOST:$PG_PORT within 30 s"
  log "PostgreSQL is ready on $PG_HOST:$PG_PORT"
}

# Puts trust rules for 127.0.0.1/::1 at the top of pg_hba.conf (idempotent).
configure_postgres_local_trust() {
  local hba="/etc/postgresql/$1/main/pg_hba.conf"
  [[ -f "$hba" ]] || return 0
  if grep -q '^# xspectre: local trust' "$hba"; then
    return 0
  fi
  log "configuring trust auth for local TCP connections in $hba"
  local tmp
  tmp="$(mktemp)"
  {
    printf '# xspectre: local trust (development/CI machine)\n'
    printf 'host    all    all    127.0.0.1/32    trust\n'
    printf 'host    all    all    ::1/128         trust\n'
    cat "$hba"
  } >"$tmp"
  as_root cp "$tmp" "$hba"
  rm -f "$tmp"
}

redis_ready() {
  [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

# ensure_redis : makes sure Redis answers on 127.0.0.1:6379 (no persistence, like CI).
ensure_redis() {
  if ! command -v redis-cli >/dev/null 2>&1; then
    ensure_apt_packages redis-tools
  fi
  if redis_ready; then
    return 0
  fi
  ensure_apt_packages redis-server
  # The package's postinst may have started it.
  if redis_ready; then
    return 0
  fi
  log "starting Redis on $REDIS_HOST:$REDIS_PORT"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
    --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_until 30 redis_ready || die "Redis did not become ready on $REDIS_HOST:$REDIS_PORT within 30 s (see /var/log/redis/ci.log)"
  log "Redis is ready on $REDIS_HOST:$REDIS_PORT"
}

# ensure_node_modules : `npm install` at the repo root when node_modules is missing or a
# manifest (root or workspace package.json, package-lock.json) is newer than the last install.
ensure_node_modules() {
  local stamp="$REPO_ROOT/node_modules/.package-lock.json"
  local need=0 f
  if [[ ! -d "$REPO_ROOT/node_modules" || ! -f "$stamp" ]]; then
    need=1
  else
    for f in "$REPO_ROOT/package.json" "$REPO_ROOT/package-lock.json" "$REPO_ROOT"/*/package.json; do
      if [[ -f "$f" && "$f" -nt "$stamp" ]]; then
        need=1
        break
      fi
    done
  fi
  if [[ "$need" -eq 0 ]]; then
    return 0
  fi
  log "npm install"
  (cd "$REPO_ROOT" && npm install --no-audit --no-fund)
  # npm leaves the hidden lockfile alone when nothing changed; mark this install as current.
  if [[ -f "$stamp" ]]; then
    touch "$stamp"
  fi
}

# ensure_database NAME : creates the PostgreSQL database NAME when it does not exist.
ensure_database() {
  local name="${1:-}"
  if [[ ! "$name" =~ ^[a-z_][a-z0-9_]*$ ]]; then
    die "invalid database name '$name' (allowed: ^[a-z_][a-z0-9_]*\$)"
  fi
  local exists
  exists="$(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_ADMIN_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$name'")"
  if [[ "$exists" == "1" ]]; then
    return 0
  fi
  log "creating database $name"
  psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_ADMIN_USER" -d postgres -v ON_ERROR_STOP=1 -qtAc "CREATE DATABASE \"$name\""
}

# Run directly, it calls one helper: bash infra/scripts/lib.sh ensure_database NAME
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    ensure_apt_packages | ensure_postgres | ensure_redis | ensure_node_modules | ensure_database)
      "$@"
      ;;
    product_apt_packages)
      ensure_apt_packages "${PRODUCT_APT_PACKAGES[@]}"
      ;;
    lab_apt_packages)
      ensure_apt_packages "${PRODUCT_APT_PACKAGES[@]}" "${LAB_APT_PACKAGES[@]}"
      ensure_apt_packages_no_start "${LAB_APT_PACKAGES_NO_START[@]}"
      ;;
    *)
      echo "usage: $0 {ensure_apt_packages PKG...|ensure_postgres|ensure_redis|ensure_node_modules|ensure_database NAME|product_apt_packages|lab_apt_packages}" >&2
      exit 2
      ;;
  esac
fi
