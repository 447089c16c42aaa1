#!/usr/bin/env bash
# Installs, upgrades and rolls back the product on a Debian 12 / Ubuntu 22.04+ host as systemd
# units, from a release tree or tarball (infra/release/build.sh). Run as root. See README.md here.
#
#   deploy.sh install  --release PATH [--public-name NAME | --private-ca [--name NAME ...]]
#                      [--allow CIDR ...] [--with-backup-server]
#   deploy.sh upgrade  --release PATH     (stop, migrate, start)
#   deploy.sh rollback                    (the previous release; migrations are forward-only)
#   deploy.sh status
# shellcheck disable=SC2016 # the node -e programs are JavaScript: their ${} are template literals
set -euo pipefail

PREFIX="${XSPECTRE_PREFIX:-/opt/xspectre}"
ETC_DIR=/etc/xspectre
STATE_DIR=/var/lib/xspectre
ENV_FILE="$ETC_DIR/xspectre.env"
MIGRATE_ENV_FILE="$ETC_DIR/migrate.env"
SERVICE_USER=xspectre
DB_NAME=xspectre
DB_OWNER=xspectre_owner
# Created beforehand with a password: the AppRole migration then only grants it its privileges.
DB_APP_ROLE=xspectre_api
HUB_IF=xs-hub0
HUB_CIDR=10.10.0.1/24
HUB_PORT=51820
API_PORT=3000
CONSOLE_PORT=3001
READY_TIMEOUT=120
# Services in start order; the backup server only where it was asked for (a marker file).
SERVICES=(xspectre-api xspectre-api-agents xspectre-worker xspectre-console)

log() { printf '==> %s\n' "$*"; }
die() {
  printf 'deploy: ERROR: %s\n' "$*" >&2
  exit 1
}
usage() {
  sed -n '4,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

require_root() {
  [[ "$(id -u)" -eq 0 ]] || die "run as root (it installs packages, a system user and systemd units)"
}

# --- the release ------------------------------------------------------------------------------

RELEASE_SRC="" RELEASE_TMP=""
cleanup() {
  if [[ -n "$RELEASE_TMP" ]]; then rm -rf "$RELEASE_TMP"; fi
}
trap cleanup EXIT

# resolve_release PATH : sets RELEASE_SRC to a checked release tree (unpacks a tarball first).
resolve_release() {
  local path="$1"
  [[ -e "$path" ]] || die "--release $path: no such file or directory"
  if [[ -f "$path" ]]; then
    case "$path" in
      *.tar.gz | *.tgz) ;;
      *) die "--release $path: neither a release tree (directory) nor a .tar.gz of one" ;;
    esac
    RELEASE_TMP="$(mktemp -d /tmp/xspectre-release.XXXXXX)"
    tar -C "$RELEASE_TMP" -xzf "$path" || die "--release $path: cannot unpack"
    local top
    top="$(find "$RELEASE_TMP" -mindepth 1 -maxdepth 1 -type d | head -n 2)"
    [[ -n "$top" && "$(printf '%s\n' "$top" | wc -l)" -eq 1 ]] || die "--release $path: the tarball must hold one release directory"
    path="$top"
  fi
  [[ -d "$path" ]] || die "--release $path: not a directory"
  local f
  for f in RELEASE.json runtime/bin/node api/dist/main.js api/dist/worker.js api/dist/db/migrate.js \
    console/server.mjs node_modules infra/deploy/systemd/xspectre-api.service; do
    [[ -e "$path/$f" ]] || die "--release $path: not a release tree ($f is missing; build one with infra/release/build.sh)"
  done
  RELEASE_SRC="$(cd "$path" && pwd)"
}

# release_name TREE : "<version>-<commit>" from its RELEASE.json.
release_name() {
  local name
  name="$("$1/runtime/bin/node" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    process.stdout.write(`${r.version}-${String(r.commit).slice(0, 12)}${String(r.commit).endsWith("-dirty") ? "-dirty" : ""}`);
  ' "$1/RELEASE.json")" || die "cannot read $1/RELEASE.json"
  [[ "$name" =~ ^[0-9A-Za-z][0-9A-Za-z.+-]{0,100}$ ]] || die "RELEASE.json gives an unusable release name '$name'"
  printf '%s' "$name"
}

# stage_release : copies RELEASE_SRC to $PREFIX/releases/<name> (root-owned, read-only to the
# services) unless it is there already; prints the name.
stage_release() {
  local name dest
  name="$(release_name "$RELEASE_SRC")"
  dest="$PREFIX/releases/$name"
  if [[ ! -d "$dest" ]]; then
    mkdir -p "$PREFIX/releases"
    rm -rf "$dest.partial"
    cp -a "$RELEASE_SRC" "$dest.partial"
    chown -R root:root "$dest.partial"
    chmod -R u+rwX,go+rX,go-w "$dest.partial"
    mv "$dest.partial" "$dest"
  fi
  printf '%s' "$name"
}

current_release() { basename "$(readlink "$PREFIX/current" 2>/dev/null || true)"; }

# switch_current NAME : points current at releases/NAME, and previous at what current was.
switch_current() {
  local name="$1" old
  old="$(current_release)"
  if [[ -n "$old" && "$old" != "$name" ]]; then
    ln -sfn "releases/$old" "$PREFIX/previous.tmp"
    mv -T "$PREFIX/previous.tmp" "$PREFIX/previous"
  fi
  ln -sfn "releases/$name" "$PREFIX/current.tmp"
  mv -T "$PREFIX/current.tmp" "$PREFIX/current"
}

# --- the host -----------------------------------------------------------------------------------

has_kernel_wireguard() {
  # A probe interface: the module exists (or loads) when this works.
  if ip link add dev xs-wgprobe type wireguard 2>/dev/null; then
    ip link del dev xs-wgprobe
    return 0
  fi
  return 1
}

ensure_packages() {
  # restic: the API serves /usr/bin/restic (API_RESTIC_BINARY) to devices whose distribution has none.
  local wanted=(postgresql redis-server wireguard-tools caddy curl openssl iproute2 ca-certificates restic "$@") missing=() pkg
  has_kernel_wireguard || wanted+=(wireguard-go)
  for pkg in "${wanted[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "Debian packages: all present"
    return 0
  fi
  log "installing missing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

ensure_user() {
  if ! getent group "$SERVICE_USER" >/dev/null; then groupadd --system "$SERVICE_USER"; fi
  if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --gid "$SERVICE_USER" --home-dir "$STATE_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
    log "created system user $SERVICE_USER (no login shell)"
  fi
  install -d -m 0755 -o root -g root "$PREFIX" "$PREFIX/releases"
  install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR"
  local d
  for d in keys audit-anchors recordings agent-builds backups backup-token-keys; do
    install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR/$d"
  done
  install -d -m 0755 -o root -g root "$ETC_DIR"
}

secret() { openssl rand -hex "$1"; }

# env_value FILE KEY : the value of KEY in FILE (root reads it; never printed by the callers).
env_value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# write_env_files NAME : the services' and the migration's settings, generated once; an
# existing file is never overwritten (upgrade keeps every secret).
write_env_files() {
  local name="$1"
  if [[ ! -f "$ENV_FILE" ]]; then
    local tmp
    tmp="$(mktemp "$ENV_FILE.XXXXXX")"
    chmod 0600 "$tmp"
    cat >"$tmp" <<ENV
# xSPECTRE settings (root:root 0600; systemd reads it as root). Generated by deploy.sh once,
# never overwritten by an upgrade. Settings: api/README.md (configuration).
NODE_ENV=production
DB_URL=postgres://$DB_APP_ROLE:$(secret 24)@127.0.0.1:$PG_PORT/$DB_NAME
REDIS_URL=redis://127.0.0.1:6379
API_PORT=$API_PORT
API_SECRET_KEY=$(openssl rand -base64 48 | tr -d '\n')
API_PUBLIC_URL=https://$name
API_CONSOLE_URL=https://$name
API_COOKIE_SECURE=true
API_TRUST_PROXY=loopback
API_BOOTSTRAP_ADMIN_EMAIL=admin@xspectre.local
API_BOOTSTRAP_ADMIN_PASSWORD=$(secret 12)
API_WG_INTERFACE=$HUB_IF
API_WG_ENDPOINT=$name:$HUB_PORT
API_AGENT_API_URL=http://${HUB_CIDR%/*}:$API_PORT/api/v1
API_BACKUP_SERVER_URL=http://${HUB_CIDR%/*}:8420
API_KEY_STORE_DIR=$STATE_DIR/keys
API_AUDIT_ANCHOR_DIR=$STATE_DIR/audit-anchors
API_TERMINAL_RECORDINGS_DIR=$STATE_DIR/recordings
API_AGENT_BUILDS_DIR=$STATE_DIR/agent-builds
ENV
    mv "$tmp" "$ENV_FILE"
    log "wrote $ENV_FILE (root:root 0600, generated secrets; not printed)"
  fi
  chown root:root "$ENV_FILE"
  chmod 0600 "$ENV_FILE"
  if [[ ! -f "$MIGRATE_ENV_FILE" ]]; then
    local tmp
    tmp="$(mktemp "$MIGRATE_ENV_FILE.XXXXXX")"
    chmod 0600 "$tmp"
    # Only the migration unit reads the owner's password: the API's role owns nothing.
    printf 'DB_OWNER_URL=postgres://%s:%s@127.0.0.1:%s/%s\n' "$DB_OWNER" "$(secret 24)" "$PG_PORT" "$DB_NAME" >"$tmp"
    mv "$tmp" "$MIGRATE_ENV_FILE"
  fi
  chown root:root "$MIGRATE_ENV_FILE"
  chmod 0600 "$MIGRATE_ENV_FILE"
}

# password_of URL : the password part of postgres://user:password@host/db.
password_of() {
  local rest="${1#*://*:}"
  printf '%s' "${rest%%@*}"
}

# ensure_postgres : starts PostgreSQL; sets PG_PORT to the newest cluster's port (5432 on a fresh
# host, but pg_createcluster picks another when 5432 was taken at install time).
PG_PORT=5432
ensure_postgres() {
  systemctl enable --now postgresql >/dev/null 2>&1 || systemctl start postgresql
  local port
  port="$(pg_lsclusters --no-header 2>/dev/null | sort -k1,1n | awk 'END { print $3 }')"
  [[ "$port" =~ ^[0-9]+$ ]] || die "no PostgreSQL cluster found (pg_lsclusters)"
  PG_PORT="$port"
  local i
  for ((i = 0; i < 60; i++)); do
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && return 0
    sleep 1
  done
  die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT"
}

ensure_database() {
  local owner_pw app_pw
  owner_pw="$(password_of "$(env_value "$MIGRATE_ENV_FILE" DB_OWNER_URL)")"
  app_pw="$(password_of "$(env_value "$ENV_FILE" DB_URL)")"
  [[ "$owner_pw" =~ ^[0-9a-f]+$ && "$app_pw" =~ ^[0-9a-f]+$ ]] || die "unexpected database passwords in $ETC_DIR (hex expected)"
  # The SQL (with the passwords) goes through stdin, never the command line.
  runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres >/dev/null <<SQL
SELECT 'CREATE ROLE $DB_OWNER LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_OWNER')\gexec
SELECT 'CREATE ROLE $DB_APP_ROLE LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_APP_ROLE')\gexec
ALTER ROLE $DB_OWNER PASSWORD '$owner_pw';
ALTER ROLE $DB_APP_ROLE PASSWORD '$app_pw';
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_OWNER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')\gexec
SQL
  log "PostgreSQL: database $DB_NAME (owner $DB_OWNER), role $DB_APP_ROLE"
}

ensure_redis() {
  systemctl enable --now redis-server >/dev/null 2>&1 || systemctl start redis-server
  local i
  for ((i = 0; i < 30; i++)); do
    [[ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null || true)" == PONG ]] && return 0
    sleep 1
  done
  die "Redis does not answer on 127.0.0.1:6379"
}

ensure_hub() {
  install -d -m 0700 -o root -g root /etc/wireguard
  local conf="/etc/wireguard/$HUB_IF.conf"
  if [[ ! -f "$conf" ]]; then
    (
      umask 077
      # The API adds and removes the peers (wg set); this file only holds the hub itself.
      printf '[Interface]\nPrivateKey = %s\nAddress = %s\nListenPort = %s\n' "$(wg genkey)" "$HUB_CIDR" "$HUB_PORT" >"$conf.tmp"
      # Never forward between devices: each peer reaches the hub and nothing else. (Written only
      # when on: inside a container /proc/sys is read-only, and a new interface starts with 0.)
      printf '# Never forward between devices: each peer reaches the hub and nothing else.\n' >>"$conf.tmp"
      printf 'PostUp = test "$(cat /proc/sys/net/ipv4/conf/%%i/forwarding)" = 0 || sysctl -qw net.ipv4.conf.%%i.forwarding=0\n' >>"$conf.tmp"
      mv "$conf.tmp" "$conf"
    )
    log "generated the hub key ($conf, 0600)"
  fi
  local dropin="/etc/systemd/system/wg-quick@$HUB_IF.service.d" api_dropin=/etc/systemd/system/xspectre-api.service.d
  mkdir -p "$dropin" "$api_dropin"
  if has_kernel_wireguard; then
    rm -f "$dropin/xspectre.conf" "$api_dropin/wireguard-go.conf"
  else
    printf '%s\n' '# Written by deploy.sh: no WireGuard kernel module, so wg-quick runs the userspace wireguard-go.' \
      '[Service]' 'Environment=WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go' \
      'Environment=WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1' >"$dropin/xspectre.conf"
    # wg talks to wireguard-go over /run/wireguard/IF.sock, which wireguard-go creates root-only
    # (0700) and watches: changing its owner or mode makes wireguard-go shut the interface down.
    # So the API needs CAP_DAC_OVERRIDE to reach it; the files it must never read are hidden.
    cat >"$api_dropin/wireguard-go.conf" <<'UNIT'
# Written by deploy.sh: the hub runs in wireguard-go (no kernel module). Its control socket is
# root-only, so the API gets CAP_DAC_OVERRIDE beside CAP_NET_ADMIN, on a read-only file system
# (ProtectSystem=strict) with the secrets it has no use for made inaccessible.
[Service]
AmbientCapabilities=CAP_NET_ADMIN CAP_DAC_OVERRIDE
CapabilityBoundingSet=CAP_NET_ADMIN CAP_DAC_OVERRIDE
InaccessiblePaths=-/etc/shadow -/etc/gshadow -/etc/wireguard -/etc/xspectre/migrate.env -/etc/xspectre/proxy-tls -/var/lib/postgresql -/etc/ssh -/root
UNIT
  fi
  systemctl daemon-reload
  systemctl enable "wg-quick@$HUB_IF.service" >/dev/null 2>&1
  if ! systemctl is-active -q "wg-quick@$HUB_IF.service"; then
    systemctl start "wg-quick@$HUB_IF.service"
  fi
  log "hub $HUB_IF: $HUB_CIDR, UDP $HUB_PORT (wg-quick@$HUB_IF)"
}

# ensure_proxy MODE NAME ALLOW... : TLS certificates, proxy.json, the Caddyfile; restarts caddy.
ensure_proxy() {
  local mode="$1" name="$2"
  shift 2
  local node="$PREFIX/current/runtime/bin/node" proxy="$PREFIX/current/infra/proxy"
  local tls_json
  if [[ "$mode" == private-ca ]]; then
    local tls_dir="$ETC_DIR/proxy-tls" out pin
    install -d -m 0750 -o root -g caddy "$tls_dir"
    local names=() n
    for n in "${PRIVATE_CA_NAMES[@]}"; do names+=(--name "$n"); done
    out="$("$node" "$proxy/private-ca.mjs" --dir "$tls_dir" "${names[@]}")"
    chown caddy:caddy "$tls_dir/server.crt" "$tls_dir/server.key"
    pin="$(printf '%s\n' "$out" | sed -n 's/^pin (API_BOOTSTRAP_PIN, curl --pinnedpubkey): //p')"
    [[ "$pin" =~ ^sha256//[A-Za-z0-9+/=]+$ ]] || die "private-ca.mjs printed no pin"
    if grep -q '^API_BOOTSTRAP_PIN=' "$ENV_FILE"; then
      sed -i "s|^API_BOOTSTRAP_PIN=.*|API_BOOTSTRAP_PIN=$pin|" "$ENV_FILE"
    else
      printf 'API_BOOTSTRAP_PIN=%s\n' "$pin" >>"$ENV_FILE"
    fi
    printf '%s\n' "$out" | grep -E '^(names|pin|CA SHA-256)' | sed 's/^/    /'
    tls_json="{\"mode\":\"private-ca\",\"certFile\":\"$tls_dir/server.crt\",\"keyFile\":\"$tls_dir/server.key\"}"
  else
    tls_json='{"mode":"acme"}'
  fi
  local allow_json
  allow_json="$("$node" -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' "$@")"
  "$node" -e '
    const [file, hostname, tls, allow, api, consolePort] = process.argv.slice(1);
    const settings = { hostname, tls: JSON.parse(tls), httpsPort: 443, httpPort: 80, http: "redirect", bind: [],
      allowList: JSON.parse(allow), upstreams: { api: `127.0.0.1:${api}`, console: `127.0.0.1:${consolePort}` } };
    require("fs").writeFileSync(file, JSON.stringify(settings, null, 2) + "\n", { mode: 0o644 });
  ' "$ETC_DIR/proxy.json" "$name" "$tls_json" "$allow_json" "$API_PORT" "$CONSOLE_PORT"
  "$node" "$proxy/render.mjs" --config "$ETC_DIR/proxy.json" --out /etc/caddy/Caddyfile >/dev/null
  caddy validate --config /etc/caddy/Caddyfile --adapter caddyfile >/dev/null 2>&1 || die "caddy validate rejected /etc/caddy/Caddyfile"
  systemctl enable caddy >/dev/null 2>&1
  systemctl restart caddy
  log "proxy: https://$name ($mode), console and full API only from: $*"
}

install_units() {
  local from="$PREFIX/current/infra/deploy/systemd" unit
  for unit in "$from"/*.service; do
    install -m 0644 -o root -g root "$unit" "/etc/systemd/system/$(basename "$unit")"
  done
  systemctl daemon-reload
}

active_services() {
  local s
  for s in "${SERVICES[@]}"; do printf '%s\n' "$s"; done
  if [[ -f "$ETC_DIR/with-backup-server" ]]; then printf 'xspectre-backup\n'; fi
}

stop_services() {
  local s units=()
  while IFS= read -r s; do units+=("$s.service"); done < <(active_services)
  log "stopping ${units[*]}"
  systemctl stop "${units[@]}" 2>/dev/null || true
}

run_migrations() {
  log "migrating the database (xspectre-migrate.service, $(current_release))"
  if ! systemctl start xspectre-migrate.service; then
    journalctl -u xspectre-migrate.service -n 30 --no-pager >&2 || true
    return 1
  fi
  journalctl -u xspectre-migrate.service -n 200 --no-pager -o cat _SYSTEMD_INVOCATION_ID="$(systemctl show -p InvocationID --value xspectre-migrate.service)" 2>/dev/null | tail -n 3 | sed 's/^/    /' || true
}

export_backup_token_keys() {
  # The backup server gets only the public halves of the API's backup-token keys.
  runuser -u "$SERVICE_USER" -- "$PREFIX/current/runtime/bin/node" -e '
    const { createPublicKey } = require("node:crypto");
    const { readdirSync, readFileSync, writeFileSync } = require("node:fs");
    const [from, to] = process.argv.slice(1);
    for (const name of readdirSync(from).filter((n) => n.endsWith(".pem")))
      writeFileSync(`${to}/${name}`, createPublicKey(readFileSync(`${from}/${name}`)).export({ format: "pem", type: "spki" }), { mode: 0o644 });
  ' "$STATE_DIR/keys/backup-tokens" "$STATE_DIR/backup-token-keys"
}

api_ready() { curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$API_PORT/api/v1/health/ready" 2>/dev/null; }

start_services() {
  local s
  while IFS= read -r s; do
    systemctl enable "$s.service" >/dev/null 2>&1
    if [[ "$s" == xspectre-backup ]]; then export_backup_token_keys; fi
    systemctl start "$s.service"
    if [[ "$s" == xspectre-api ]]; then
      local deadline=$((SECONDS + READY_TIMEOUT))
      until api_ready; do
        if ((SECONDS >= deadline)) || ! systemctl is-active -q xspectre-api.service; then
          journalctl -u xspectre-api.service -n 40 --no-pager >&2 || true
          die "the API was not ready within $READY_TIMEOUT s"
        fi
        sleep 1
      done
    fi
  done < <(active_services)
  local failed=()
  sleep 2
  while IFS= read -r s; do
    systemctl is-active -q "$s.service" || failed+=("$s")
  done < <(active_services)
  if [[ ${#failed[@]} -gt 0 ]]; then
    for s in "${failed[@]}"; do journalctl -u "$s.service" -n 30 --no-pager >&2 || true; done
    die "not running: ${failed[*]}"
  fi
  log "running: $(active_services | tr '\n' ' ')"
}

# --- commands -----------------------------------------------------------------------------------

PRIVATE_CA_NAMES=()

cmd_install() {
  local release="" public_name="" private_ca=0 with_backup=0 allow=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --release) [[ $# -ge 2 ]] || die "--release needs a path"; release="$2"; shift 2 ;;
      --public-name) [[ $# -ge 2 ]] || die "--public-name needs a name"; public_name="$2"; shift 2 ;;
      --private-ca) private_ca=1; shift ;;
      --name) [[ $# -ge 2 ]] || die "--name needs a name"; PRIVATE_CA_NAMES+=("$2"); shift 2 ;;
      --allow) [[ $# -ge 2 ]] || die "--allow needs an address or CIDR"; allow+=("$2"); shift 2 ;;
      --with-backup-server) with_backup=1; shift ;;
      *) die "install: unknown argument '$1' (deploy.sh install --release PATH [--public-name NAME | --private-ca [--name NAME ...]] [--allow CIDR ...] [--with-backup-server])" ;;
    esac
  done
  [[ -n "$release" ]] || die "install: --release PATH is required (a tree or tarball from infra/release/build.sh)"
  if [[ -n "$public_name" && "$private_ca" -eq 1 ]]; then die "install: give --public-name (ACME) or --private-ca, not both"; fi
  if [[ -z "$public_name" && "$private_ca" -eq 0 ]]; then die "install: give --public-name NAME (ACME certificate) or --private-ca"; fi
  if [[ ${#PRIVATE_CA_NAMES[@]} -gt 0 && "$private_ca" -eq 0 ]]; then die "install: --name is for --private-ca"; fi
  local a
  for a in "${allow[@]}"; do
    [[ "$a" =~ ^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$ ]] || die "install: --allow $a is not an address or CIDR"
  done
  require_root
  resolve_release "$release"
  local name mode
  if [[ "$private_ca" -eq 1 ]]; then
    mode=private-ca
    if [[ ${#PRIVATE_CA_NAMES[@]} -eq 0 ]]; then PRIVATE_CA_NAMES=("$(hostname)"); fi
    name="${PRIVATE_CA_NAMES[0]}"
  else
    mode=acme
    name="$public_name"
  fi
  [[ "$name" =~ ^[A-Za-z0-9.:-]{1,253}$ ]] || die "install: '$name' is not a host name or address"
  if [[ ${#allow[@]} -eq 0 ]]; then
    allow=(127.0.0.1/32 ::1/128)
    log "no --allow given: the console and the full API answer only from this host (loopback)"
  fi

  if [[ "$with_backup" -eq 1 ]]; then
    # The backup server serves restic repositories through rclone (backup-server/README.md).
    ensure_packages rclone
  else
    ensure_packages
  fi
  ensure_user
  local rel
  rel="$(stage_release)"
  log "release $rel in $PREFIX/releases/$rel"
  switch_current "$rel"
  ensure_postgres
  write_env_files "$name"
  if [[ "$with_backup" -eq 1 ]]; then touch "$ETC_DIR/with-backup-server"; fi
  ensure_database
  ensure_redis
  ensure_hub
  install_units
  stop_services
  run_migrations || die "the migration failed (above); nothing was started"
  start_services
  ensure_proxy "$mode" "$name" "${allow[@]}"
  # The pin is in the env file now: the API shows it in the one-liner after a restart.
  if [[ "$mode" == private-ca ]]; then
    systemctl restart xspectre-api.service xspectre-api-agents.service
    local deadline=$((SECONDS + READY_TIMEOUT))
    until api_ready; do
      ((SECONDS < deadline)) || die "the API was not ready within $READY_TIMEOUT s after the restart"
      sleep 1
    done
  fi
  echo
  echo "xSPECTRE $rel is installed."
  echo "  Console:   https://$name/"
  echo "  API:       https://$name/api/v1 (127.0.0.1:$API_PORT; devices: ${HUB_CIDR%/*}:$API_PORT over the hub)"
  echo "  Hub:       $HUB_IF, UDP $HUB_PORT"
  echo "  Secrets:   $ENV_FILE (root, 0600); the bootstrap admin's password is API_BOOTSTRAP_ADMIN_PASSWORD there"
  echo "  Status:    $0 status"
}

cmd_upgrade() {
  local release=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --release) [[ $# -ge 2 ]] || die "--release needs a path"; release="$2"; shift 2 ;;
      *) die "upgrade: unknown argument '$1' (deploy.sh upgrade --release PATH)" ;;
    esac
  done
  [[ -n "$release" ]] || die "upgrade: --release PATH is required"
  require_root
  resolve_release "$release"
  [[ -L "$PREFIX/current" && -f "$ENV_FILE" ]] || die "upgrade: nothing installed here yet (deploy.sh install first)"
  local old rel
  old="$(current_release)"
  rel="$(release_name "$RELEASE_SRC")"
  [[ "$rel" != "$old" ]] || die "upgrade: $rel is already the current release"
  rel="$(stage_release)"
  log "upgrading $old -> $rel"
  stop_services
  switch_current "$rel"
  install_units
  if ! run_migrations; then
    local warn_back="the migration failed; back to $old (its schema may now be partly newer: see README, rollback)"
    switch_current "$old"
    install_units
    start_services
    die "$warn_back"
  fi
  start_services
  log "upgraded to $rel (previous: $old; deploy.sh rollback returns to it)"
}

cmd_rollback() {
  [[ $# -eq 0 ]] || die "rollback takes no arguments"
  require_root
  [[ -L "$PREFIX/previous" ]] || die "rollback: no previous release recorded in $PREFIX/previous"
  local prev cur
  prev="$(basename "$(readlink "$PREFIX/previous")")"
  cur="$(current_release)"
  [[ -d "$PREFIX/releases/$prev" ]] || die "rollback: $PREFIX/releases/$prev is gone"
  log "rolling back $cur -> $prev (no migration runs: the schema stays as $cur left it)"
  stop_services
  switch_current "$prev"
  install_units
  start_services
  log "rolled back to $prev (previous: $cur)"
}

cmd_status() {
  local cur prev s
  cur="$(current_release)"
  prev="$(basename "$(readlink "$PREFIX/previous" 2>/dev/null || true)")"
  echo "current:  ${cur:-none}"
  echo "previous: ${prev:-none}"
  if [[ -n "$cur" ]]; then
    cat "$PREFIX/current/RELEASE.json"
    echo
  fi
  for s in $(active_services) "wg-quick@$HUB_IF" caddy postgresql redis-server; do
    printf '%-28s %s\n' "$s" "$(systemctl is-active "$s.service" 2>/dev/null || true)"
  done
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  upgrade) shift; cmd_upgrade "$@" ;;
  rollback) shift; cmd_rollback "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) usage ;;
esac
