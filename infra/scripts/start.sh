#!/usr/bin/env bash
# `npm start`: installs what is missing on a Debian 12 machine, starts PostgreSQL and Redis,
# builds, migrates, then (re)starts the API, the worker (and the console when it exists)
# in the background. Prints the URL and the bootstrap login.
# `npm stop` (= start.sh stop): stops what `npm start` started.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub.sh
. "$(dirname "${BASH_SOURCE[0]}")/hub.sh"

cd "$REPO_ROOT"

ENV_FILE="$REPO_ROOT/.env.local"
RUN_DIR="$REPO_ROOT/var/run"
LOG_DIR="$REPO_ROOT/var/log"
DB_NAME=xspectre
# The API and worker connect as this role, which owns nothing (created and granted by the
# migration api/src/db/migrations/1795505000000-AppRole.ts); migrations run as the owner.
APP_DB_ROLE=xspectre_api
CONSOLE_PORT=3001
READY_TIMEOUT=60
STOP_TIMEOUT=15

# Every process we start carries this marker in its environment, so a pid file whose pid
# was reused by an unrelated process is never acted on.
service_marker() {
  printf 'XSPECTRE_SERVICE=%s@%s' "$1" "$REPO_ROOT"
}

# is_our_process NAME PID : PID is alive and is the NAME process started from this checkout.
is_our_process() {
  local name="$1" pid="$2"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ -r "/proc/$pid/environ" ]] || return 1
  grep -qxF "$(service_marker "$name")" < <(tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" || true)
}

# process_group_alive PGID : some non-zombie process is still in process group PGID.
# (Reads /proc directly: zombies left by a non-reaping PID 1 must not count as alive.)
process_group_alive() {
  local pgid="$1" f line state pgrp
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    line="${line##*) }"
    read -r state _ pgrp _ <<<"$line"
    if [[ "$pgrp" == "$pgid" && "$state" != "Z" ]]; then
      return 0
    fi
  done
  return 1
}

# stop_service NAME : stops the process group recorded in var/run/NAME.pid, removes the file.
stop_service() {
  local name="$1"
  local pidfile="$RUN_DIR/$name.pid"
  [[ -f "$pidfile" ]] || return 0
  local pid
  pid="$(head -c 32 "$pidfile" | tr -dc '0-9')"
  if [[ -n "$pid" ]] && is_our_process "$name" "$pid"; then
    log "stopping $name (pid $pid)"
    # Started with setsid: the pid is also the process group id (covers npm's children).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while process_group_alive "$pid"; do
      if ((SECONDS >= deadline)); then
        warn "$name did not stop within ${STOP_TIMEOUT} s, sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.5
    done
  fi
  rm -f "$pidfile"
}

stop_all() {
  local pidfile name
  shopt -s nullglob
  for pidfile in "$RUN_DIR"/*.pid; do
    name="$(basename "$pidfile" .pid)"
    stop_service "$name"
  done
  shopt -u nullglob
}

# start_service NAME LOGFILE CMD... : starts CMD in its own session, in the background.
start_service() {
  local name="$1" logfile="$2"
  shift 2
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  printf '\n===== %s: starting %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" "$*" >>"$logfile"
  env "$(service_marker "$name")" setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
  local pid=$!
  printf '%s\n' "$pid" >"$RUN_DIR/$name.pid"
  log "started $name (pid $pid, log ${logfile#"$REPO_ROOT"/})"
}

# The public halves of the API's backup-token keys (the key store's backup-tokens/*.pem), for the
# backup server, which must never hold a private one.
export_backup_token_keys() {
  local from="$1" to="$2"
  mkdir -p "$to"
  # shellcheck disable=SC2016 # JavaScript, not shell: its ${} are template literals
  node -e '
    const { createPublicKey } = require("node:crypto");
    const { readdirSync, readFileSync, writeFileSync, rmSync } = require("node:fs");
    const [from, to] = process.argv.slice(1);
    for (const name of readdirSync(to)) if (name.endsWith(".pem")) rmSync(`${to}/${name}`);
    const keys = readdirSync(from).filter((name) => name.endsWith(".pem"));
    if (keys.length === 0) throw new Error(`no backup-token keys in ${from}`);
    for (const name of keys) {
      const pem = createPublicKey(readFileSync(`${from}/${name}`)).export({ format: "pem", type: "spki" });
      writeFileSync(`${to}/${name}`, pem, { mode: 0o644 });
    }
  ' "$from" "$to"
}

# backup_ready: the backup server's front answers (401 without a token is an answer).
backup_ready() {
  curl -s -o /dev/null -m 2 "http://${BACKUP_PROBE_HOST}:${BACKUP_LISTEN_PORT:-8420}/"
}

print_logs() {
  local logfile
  for logfile in "$@"; do
    [[ -f "$logfile" ]] || continue
    printf '\n----- last 40 lines of %s -----\n' "${logfile#"$REPO_ROOT"/}" >&2
    tail -n 40 "$logfile" >&2
  done
}

# Single-quotes a string for a shell command line.
shell_quote() {
  local s="$1"
  printf "'%s'" "${s//\'/\'\\\'\'}"
}

# Writes any missing default setting to .env.local; existing values are never changed, except
# DB_URL still at its old default (the owner), which moves to the API's own role.
ensure_env_file() {
  local created=0
  if [[ ! -f "$ENV_FILE" ]]; then
    (
      umask 077
      : >"$ENV_FILE"
    )
    created=1
  fi
  chmod 600 "$ENV_FILE"
  local key value added=()
  local keys=(
    DB_URL DB_OWNER_URL REDIS_URL API_PORT API_HOST API_PUBLIC_URL API_COOKIE_SECURE API_SECRET_KEY
    API_BOOTSTRAP_ADMIN_EMAIL API_BOOTSTRAP_ADMIN_PASSWORD
    API_WG_INTERFACE API_WG_ENDPOINT API_AGENT_API_URL API_KEY_STORE_DIR API_CONSOLE_URL
  )
  for key in "${keys[@]}"; do
    if grep -qE "^(export[[:space:]]+)?${key}=" "$ENV_FILE"; then
      continue
    fi
    case "$key" in
      DB_URL) value="postgres://$APP_DB_ROLE@127.0.0.1:5432/$DB_NAME" ;;
      DB_OWNER_URL) value="postgres://$PG_ADMIN_USER@127.0.0.1:5432/$DB_NAME" ;;
      REDIS_URL) value="redis://127.0.0.1:6379" ;;
      API_PORT) value="3000" ;;
      # Devices enroll over the underlay and send heartbeats to 10.10.0.1 over the tunnel.
      # In production a reverse proxy publishes only the enrollment routes (infra/README.md).
      API_HOST) value="0.0.0.0" ;;
      API_PUBLIC_URL) value="http://$(hub_underlay_address):3000" ;;
      API_WG_INTERFACE) value="$HUB_IF" ;;
      API_WG_ENDPOINT) value="$(hub_underlay_address):$HUB_PORT" ;;
      API_AGENT_API_URL) value="http://${HUB_CIDR%/*}:3000/api/v1" ;;
      API_COOKIE_SECURE) value="false" ;;
      API_SECRET_KEY) value="$(openssl rand -base64 48 | tr -d '\n')" ;;
      API_BOOTSTRAP_ADMIN_EMAIL) value="admin@xspectre.local" ;;
      API_BOOTSTRAP_ADMIN_PASSWORD) value="$(openssl rand -base64 18 | tr -d '/+=\n')" ;;
      # Absolute: the same keys whatever directory the API is started from (npm run start:api runs in api/).
      API_KEY_STORE_DIR) value="$(shell_quote "$REPO_ROOT/var/keys")" ;;
      # Alert links and single sign-on's callback URLs (identity providers send browsers back here).
      API_CONSOLE_URL) value="http://127.0.0.1:3001" ;;
    esac
    printf '%s=%s\n' "$key" "$value" >>"$ENV_FILE"
    added+=("$key")
  done
  local owner_default="DB_URL=postgres://$PG_ADMIN_USER@127.0.0.1:5432/$DB_NAME" line tmp
  if grep -qxF "$owner_default" "$ENV_FILE"; then
    tmp="$(mktemp "$ENV_FILE.XXXXXX")"
    while IFS= read -r line || [[ -n "$line" ]]; do
      if [[ "$line" == "$owner_default" ]]; then
        printf 'DB_URL=postgres://%s@127.0.0.1:5432/%s\n' "$APP_DB_ROLE" "$DB_NAME"
      else
        printf '%s\n' "$line"
      fi
    done <"$ENV_FILE" >"$tmp"
    chmod 600 "$tmp"
    mv "$tmp" "$ENV_FILE"
    log "DB_URL in .env.local now connects as $APP_DB_ROLE (migrations use DB_OWNER_URL)"
  fi
  if [[ "$created" -eq 1 ]]; then
    log "created .env.local (mode 0600) with generated secrets"
  elif [[ ${#added[@]} -gt 0 ]]; then
    log "added missing settings to .env.local: ${added[*]}"
  fi
}

load_env_file() {
  if [[ ! -O "$ENV_FILE" ]]; then
    die ".env.local is not owned by $(id -un); refusing to load it"
  fi
  set -a
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  set +a
}

# Where to probe the API: API_HOST, or loopback when it listens on every address.
api_probe_host() {
  case "${API_HOST:-127.0.0.1}" in
    "" | 0.0.0.0 | :: | "[::]") printf '127.0.0.1' ;;
    *:*) printf '[%s]' "$API_HOST" ;;
    *) printf '%s' "$API_HOST" ;;
  esac
}

api_ready() {
  curl -fsS -o /dev/null --max-time 2 "http://$(api_probe_host):${API_PORT}/api/v1/health/ready" 2>/dev/null
}

console_ready() {
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${CONSOLE_PORT}/" 2>/dev/null
}

# wait_ready NAME CHECK_FN LOGFILE... : waits for CHECK_FN; fails early if a process died.
wait_ready() {
  local name="$1" check="$2"
  shift 2
  local deadline=$((SECONDS + READY_TIMEOUT)) svc pid
  log "waiting up to ${READY_TIMEOUT} s for $name"
  until "$check"; do
    for svc in "${STARTED[@]}"; do
      pid="$(cat "$RUN_DIR/$svc.pid" 2>/dev/null || true)"
      if ! is_our_process "$svc" "$pid"; then
        printf '==> ERROR: %s exited during startup\n' "$svc" >&2
        print_logs "$@"
        exit 1
      fi
    done
    if ((SECONDS >= deadline)); then
      printf '==> ERROR: %s was not ready within %s s\n' "$name" "$READY_TIMEOUT" >&2
      print_logs "$@"
      echo '==> processes still running were left for inspection; npm stop stops them' >&2
      exit 1
    fi
    sleep 1
  done
}

cmd_stop() {
  if [[ -d "$RUN_DIR" ]]; then
    stop_all
  fi
  log "stopped"
}

cmd_start() {
  ensure_apt_packages "${PRODUCT_APT_PACKAGES[@]}"
  ensure_postgres
  ensure_redis
  ensure_node_modules
  ensure_database "$DB_NAME"
  ensure_env_file
  load_env_file

  : "${API_PORT:?API_PORT missing in .env.local}"
  if [[ ! "$API_PORT" =~ ^[0-9]+$ ]]; then
    die "API_PORT in .env.local must be a number"
  fi

  log "npm run build"
  npm run build
  if [[ -f "$REPO_ROOT/console/package.json" ]]; then
    log "npm run build -w console (next build)"
    npm run build -w console
  fi
  log "npm run migrate"
  npm run migrate

  stop_all
  if api_ready; then
    die "something else already answers on port $API_PORT; stop it or change API_PORT in .env.local"
  fi
  STARTED=()
  if [[ -n "${API_WG_INTERFACE:-}" ]]; then
    hub_up
    STARTED+=(hub)
  fi

  local api_log="$LOG_DIR/api.log" worker_log="$LOG_DIR/worker.log" console_log="$LOG_DIR/console.log"
  start_service api "$api_log" node api/dist/main.js
  STARTED+=(api)
  start_service worker "$worker_log" node api/dist/worker.js
  STARTED+=(worker)
  wait_ready "the API (GET /api/v1/health/ready)" api_ready "$api_log" "$worker_log"

  # The backup server: devices reach it on the hub's overlay address (API_BACKUP_SERVER_URL);
  # a plain directory store under var/backups unless .env.local names a ZFS dataset.
  local backup_log="$LOG_DIR/backup-server.log"
  export_backup_token_keys "$API_KEY_STORE_DIR/backup-tokens" "$REPO_ROOT/var/backup-token-keys"
  BACKUP_PROBE_HOST="127.0.0.1"
  if [[ -n "${API_WG_INTERFACE:-}" ]]; then
    BACKUP_PROBE_HOST="${HUB_CIDR%/*}"
  fi
  if [[ -n "${BACKUP_ZFS_DATASET:-}" ]]; then
    BACKUP_LISTEN_HOST="${BACKUP_LISTEN_HOST:-$BACKUP_PROBE_HOST}" BACKUP_TOKEN_PUBLIC_KEYS="$REPO_ROOT/var/backup-token-keys" \
      start_service backup-server "$backup_log" node backup-server/dist/main.js
  else
    BACKUP_LISTEN_HOST="${BACKUP_LISTEN_HOST:-$BACKUP_PROBE_HOST}" BACKUP_TOKEN_PUBLIC_KEYS="$REPO_ROOT/var/backup-token-keys" \
      BACKUP_STORAGE_DIR="${BACKUP_STORAGE_DIR:-$REPO_ROOT/var/backups}" \
      start_service backup-server "$backup_log" node backup-server/dist/main.js
  fi
  STARTED+=(backup-server)
  wait_ready "the backup server" backup_ready "$backup_log"

  local console_url=""
  if [[ -f "$REPO_ROOT/console/package.json" ]]; then
    PORT="$CONSOLE_PORT" start_service console "$console_log" npm run start -w console
    STARTED+=(console)
    wait_ready "the console" console_ready "$console_log"
    console_url="http://127.0.0.1:$CONSOLE_PORT"
  fi

  local api_url="${API_PUBLIC_URL:-http://127.0.0.1:$API_PORT}"
  api_url="${api_url%/}"
  echo
  echo "xSPECTRE Ops Console is running."
  echo
  if [[ -n "$console_url" ]]; then
    echo "  Console:      $console_url"
  fi
  echo "  API:          $api_url/api/v1"
  echo "  Backups:      restic front on http://$BACKUP_PROBE_HOST:${BACKUP_LISTEN_PORT:-8420} (store: ${BACKUP_ZFS_DATASET:-${BACKUP_STORAGE_DIR:-var/backups}})"
  echo "  OpenAPI docs: $api_url/api/docs"
  if [[ -n "${API_WG_INTERFACE:-}" ]]; then
    echo "  WireGuard hub: $API_WG_INTERFACE, devices connect to ${API_WG_ENDPOINT:-?}"
  fi
  if [[ -n "${API_BOOTSTRAP_ADMIN_EMAIL:-}" && -n "${API_BOOTSTRAP_ADMIN_PASSWORD:-}" ]]; then
    local body
    body="$(node -e 'process.stdout.write(JSON.stringify({ email: process.argv[1], password: process.argv[2] }))' \
      "$API_BOOTSTRAP_ADMIN_EMAIL" "$API_BOOTSTRAP_ADMIN_PASSWORD")"
    echo
    echo "  Bootstrap admin (created on the first start, from .env.local):"
    echo "    email:    $API_BOOTSTRAP_ADMIN_EMAIL"
    echo "    password: $API_BOOTSTRAP_ADMIN_PASSWORD"
    echo
    echo "  Log in from a shell:"
    echo "    curl -sS -X POST $(shell_quote "$api_url/api/v1/auth/login") -H 'Content-Type: application/json' -d $(shell_quote "$body")"
  fi
  local logs="var/log/api.log, var/log/worker.log, var/log/backup-server.log"
  if [[ -n "$console_url" ]]; then
    logs="$logs, var/log/console.log"
  fi
  echo
  echo "  Logs:         $logs"
  echo "  Stop:         npm stop"
}

# (Sourcing this file only defines the functions.)
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  case "${1:-start}" in
    start | restart) cmd_start ;;
    stop) cmd_stop ;;
    *)
      echo "usage: $0 [start|stop|restart]" >&2
      exit 2
      ;;
  esac
fi
