#!/usr/bin/env bash
# Platform backups of the xSPECTRE Ops Console: PostgreSQL continuous archiving with pgBackRest
# (full + differential backups, WAL archive, point-in-time restore into a fresh data directory)
# and the API's key store plus the hub's WireGuard key, encrypted with age. See
# infra/backup/README.md. Every external command gets an argument array; values that end up in
# a string PostgreSQL or pg_ctl hands to /bin/sh (archive_command, pg_ctl -o) are validated first.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATE="$HERE/pgbackrest.conf.template"
DEFAULT_CONFIG=/etc/pgbackrest/pgbackrest.conf

CONFIG="${PGBACKREST_CONFIG:-$DEFAULT_CONFIG}"
STANZA=xspectre
PG_USER="${PLATFORM_BACKUP_PG_USER:-postgres}"

usage() {
  cat <<'EOF'
Usage: platform-backup.sh [--config FILE] [--stanza NAME] [--pg-user USER] COMMAND [options]

Commands:
  render  --pg-data DIR --repo-path DIR [--repo-type posix|s3] [--pg-port N] [--pg-socket DIR]
          [--retention-full N] [--log-path DIR] [--lock-path DIR]
          [--s3-bucket B --s3-endpoint HOST --s3-region R]
                                writes the pgBackRest configuration (--config) from the template
  setup   [--archive-timeout SECONDS] [--restart]
                                archive_mode/archive_command/archive_timeout in postgresql.conf,
                                stanza-create and check (--restart restarts the cluster with pg_ctl)
  full                          full backup
  diff                          differential backup (against the newest full one)
  info                          what the repository holds
  restore --to DIR [--target-time T] [--port N] [--socket-dir DIR] [--archive-mode preserve|off]
          [--pg-conf FILE] [--no-start]
                                restore into a fresh data directory; with --target-time, point in
                                time (--type=time, T like '2026-12-05 00:30:00.123+00'), else to
                                the end of the archive; then start that cluster
  keys backup  --recipient AGE_PUBLIC_KEY [--key-store DIR] [--hub-key FILE] [--out DIR]
  keys restore --identity FILE --from DIR [--key-store DIR] [--hub-key FILE]
                                the API's key store (API_KEY_STORE_DIR) and the hub's WireGuard
                                key, encrypted with age, into <repo-path>/keys/<UTC time>/

Options before the command: --config (default $PGBACKREST_CONFIG or /etc/pgbackrest/pgbackrest.conf),
--stanza (default xspectre), --pg-user (the OS user that owns the cluster, default postgres).
EOF
}

die() {
  printf 'platform-backup: %s\n' "$*" >&2
  exit 1
}
log() { printf 'platform-backup: %s\n' "$*" >&2; }

# A value that a shell will see (archive_command, pg_ctl -o) or a config line: no quoting needed.
safe_path() {
  [[ "$2" =~ ^/[A-Za-z0-9_./-]*$ ]] || die "$1 must be an absolute path of letters, digits, '_', '.', '/', '-' (got a different value)"
}
safe_int() {
  if [[ ! "$2" =~ ^[0-9]{1,9}$ ]] || ((10#$2 < $3 || 10#$2 > $4)); then
    die "$1 must be a whole number from $3 to $4"
  fi
}
need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"; }

# Runs a command as the cluster's OS user when we are root (PostgreSQL refuses root; the
# repository and data directories belong to that user).
as_pg() {
  if [[ "$(id -u)" == 0 && "$PG_USER" != root ]]; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

pg_bin() {
  local v
  if [[ -n "${PG_BIN:-}" ]]; then
    printf '%s\n' "$PG_BIN"
    return
  fi
  v="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -regex '.*/[0-9]+' -printf '%f\n' 2>/dev/null | sort -n | tail -n 1)"
  [[ -n "$v" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
  printf '/usr/lib/postgresql/%s/bin\n' "$v"
}

# The value of `key=` in the rendered configuration (first match).
conf_get() {
  local line
  [[ -r "$CONFIG" ]] || die "cannot read $CONFIG (run render first)"
  while IFS= read -r line; do
    if [[ "$line" == "$1="* ]]; then
      printf '%s\n' "${line#*=}"
      return 0
    fi
  done <"$CONFIG"
  return 1
}

pgbr() {
  as_pg pgbackrest "--config=$CONFIG" "--stanza=$STANZA" "$@"
}

psql_cluster() {
  local port socket user
  port="$(conf_get pg1-port)"
  socket="$(conf_get pg1-socket-path)"
  user="$(conf_get pg1-user)"
  as_pg psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$socket" -p "$port" -U "$user" -d postgres "$@"
}

cmd_render() {
  local pg_data='' repo_path='' repo_type=posix pg_port=5432 pg_socket=/var/run/postgresql retention=4
  local log_path=/var/log/pgbackrest lock_path=/tmp/pgbackrest s3_bucket='' s3_endpoint='' s3_region=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --pg-data) need_value "$@"; pg_data="$2"; shift 2 ;;
      --repo-path) need_value "$@"; repo_path="$2"; shift 2 ;;
      --repo-type) need_value "$@"; repo_type="$2"; shift 2 ;;
      --pg-port) need_value "$@"; pg_port="$2"; shift 2 ;;
      --pg-socket) need_value "$@"; pg_socket="$2"; shift 2 ;;
      --retention-full) need_value "$@"; retention="$2"; shift 2 ;;
      --log-path) need_value "$@"; log_path="$2"; shift 2 ;;
      --lock-path) need_value "$@"; lock_path="$2"; shift 2 ;;
      --s3-bucket) need_value "$@"; s3_bucket="$2"; shift 2 ;;
      --s3-endpoint) need_value "$@"; s3_endpoint="$2"; shift 2 ;;
      --s3-region) need_value "$@"; s3_region="$2"; shift 2 ;;
      *) die "render: unknown option $1" ;;
    esac
  done
  [[ -n "$pg_data" && -n "$repo_path" ]] || die "render needs --pg-data and --repo-path"
  safe_path --pg-data "$pg_data"
  safe_path --repo-path "$repo_path"
  safe_path --pg-socket "$pg_socket"
  safe_path --log-path "$log_path"
  safe_path --lock-path "$lock_path"
  safe_int --pg-port "$pg_port" 1 65535
  safe_int --retention-full "$retention" 1 9999
  local repo_lines
  case "$repo_type" in
    posix) repo_lines="repo1-type=posix"$'\n'"repo1-path=$repo_path" ;;
    s3)
      [[ "$s3_bucket" =~ ^[a-z0-9.-]+$ ]] || die "--s3-bucket must be a bucket name (a-z, 0-9, '.', '-')"
      [[ "$s3_endpoint" =~ ^[A-Za-z0-9.-]+(:[0-9]+)?$ ]] || die "--s3-endpoint must be a host name (optionally :port)"
      [[ "$s3_region" =~ ^[a-z0-9-]+$ ]] || die "--s3-region must be a region name (a-z, 0-9, '-')"
      # Keys come from PGBACKREST_REPO1_S3_KEY / PGBACKREST_REPO1_S3_KEY_SECRET in the environment.
      repo_lines="repo1-type=s3"$'\n'"repo1-path=$repo_path"$'\n'"repo1-s3-bucket=$s3_bucket"
      repo_lines+=$'\n'"repo1-s3-endpoint=$s3_endpoint"$'\n'"repo1-s3-region=$s3_region"$'\n'"repo1-s3-uri-style=path"
      ;;
    *) die "--repo-type must be posix or s3" ;;
  esac
  [[ "$STANZA" =~ ^[A-Za-z0-9_-]+$ ]] || die "--stanza must be letters, digits, '_' or '-'"
  local text
  text="$(<"$TEMPLATE")"
  text="${text//@REPO_LINES@/$repo_lines}"
  text="${text//@RETENTION_FULL@/$retention}"
  text="${text//@LOG_PATH@/$log_path}"
  text="${text//@LOCK_PATH@/$lock_path}"
  text="${text//@STANZA@/$STANZA}"
  text="${text//@PG_DATA@/$pg_data}"
  text="${text//@PG_PORT@/$pg_port}"
  text="${text//@PG_SOCKET@/$pg_socket}"
  text="${text//@PG_DB_USER@/postgres}"
  mkdir -p "$(dirname "$CONFIG")"
  (umask 022 && printf '%s\n' "$text" >"$CONFIG")
  # The repository, log and lock directories belong to the cluster's user (archive_command runs as it).
  local dir dirs=("$log_path" "$lock_path")
  if [[ "$repo_type" == posix ]]; then dirs+=("$repo_path"); fi
  for dir in "${dirs[@]}"; do
    mkdir -p "$dir"
    if [[ "$(id -u)" == 0 ]]; then chown "$PG_USER:" "$dir"; fi
    chmod 750 "$dir"
  done
  log "wrote $CONFIG (stanza $STANZA, $repo_type repository)"
}

# The archive settings, in a block of postgresql.conf this script owns (replaced on every run).
write_archive_block() {
  local conf="$1" timeout="$2" command begin='# BEGIN xspectre platform-backup' end='# END xspectre platform-backup'
  command="pgbackrest --stanza=$STANZA archive-push %p"
  if [[ "$CONFIG" != "$DEFAULT_CONFIG" ]]; then
    command="pgbackrest --config=$CONFIG --stanza=$STANZA archive-push %p"
  fi
  local kept='' line inside=0
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" == "$begin" ]]; then inside=1; continue; fi
    if [[ "$line" == "$end" ]]; then inside=0; continue; fi
    ((inside)) || kept+="$line"$'\n'
  done <"$conf"
  kept+="$begin"$'\n'
  kept+="archive_mode = on"$'\n'
  kept+="archive_command = '$command'"$'\n'
  # RPO: a WAL segment is archived when full or after this many seconds, whichever is first.
  kept+="archive_timeout = $timeout"$'\n'
  kept+="wal_level = replica"$'\n'
  kept+="max_wal_senders = 3"$'\n'
  kept+="$end"$'\n'
  printf '%s' "$kept" >"$conf"
}

cmd_setup() {
  local timeout=60 restart=0
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --archive-timeout) need_value "$@"; timeout="$2"; shift 2 ;;
      --restart) restart=1; shift ;;
      *) die "setup: unknown option $1" ;;
    esac
  done
  safe_int --archive-timeout "$timeout" 1 300
  safe_path --config "$CONFIG"
  [[ "$STANZA" =~ ^[A-Za-z0-9_-]+$ ]] || die "--stanza must be letters, digits, '_' or '-'"
  local data conf
  data="$(conf_get pg1-path)" || die "$CONFIG has no pg1-path"
  # Debian's clusters keep postgresql.conf in /etc/postgresql/<version>/<name>, others in the data directory.
  conf="$(psql_cluster -c 'SHOW config_file')" || die "cannot reach the cluster named in $CONFIG"
  [[ -f "$conf" ]] || die "no postgresql.conf at $conf"
  write_archive_block "$conf" "$timeout"
  log "archive settings written to $conf (archive_timeout=${timeout}s)"
  if ((restart)); then
    as_pg "$(pg_bin)/pg_ctl" -D "$data" -w -m fast restart >/dev/null
    log "cluster restarted"
  fi
  local mode
  mode="$(psql_cluster -c 'SHOW archive_mode')"
  [[ "$mode" == on ]] || die "archive_mode is still '$mode': restart PostgreSQL (or run setup --restart), then setup again"
  pgbr stanza-create
  pgbr check
  log "stanza $STANZA is ready: WAL is archived; take a full backup now (platform-backup.sh full)"
}

cmd_backup() {
  local type="$1"
  pgbr "--type=$type" backup
  # Closes the current segment so the newest writes reach the archive now, not after archive_timeout.
  psql_cluster -c 'SELECT pg_switch_wal()' >/dev/null
  log "$type backup done"
}

cmd_restore() {
  local to='' target='' port=5433 socket=/var/run/postgresql archive_mode=preserve start=1 pg_conf=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --to) need_value "$@"; to="$2"; shift 2 ;;
      --target-time) need_value "$@"; target="$2"; shift 2 ;;
      --port) need_value "$@"; port="$2"; shift 2 ;;
      --socket-dir) need_value "$@"; socket="$2"; shift 2 ;;
      --archive-mode) need_value "$@"; archive_mode="$2"; shift 2 ;;
      --pg-conf) need_value "$@"; pg_conf="$2"; shift 2 ;;
      --no-start) start=0; shift ;;
      *) die "restore: unknown option $1" ;;
    esac
  done
  [[ -n "$to" ]] || die "restore needs --to DIR (a fresh data directory)"
  safe_path --to "$to"
  safe_path --socket-dir "$socket"
  safe_int --port "$port" 1 65535
  [[ "$archive_mode" == preserve || "$archive_mode" == off ]] || die "--archive-mode must be preserve or off"
  if [[ -n "$target" && ! "$target" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}[\ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([+-][0-9]{2}(:?[0-9]{2})?|Z)?$ ]]; then
    die "--target-time must look like '2026-12-05 00:30:00.123+00'"
  fi
  if [[ -e "$to" && -n "$(find "$to" -mindepth 1 -maxdepth 1 -print -quit)" ]]; then
    die "$to is not empty: restore goes into a fresh data directory, never over a cluster"
  fi
  mkdir -p "$to"
  if [[ "$(id -u)" == 0 ]]; then chown "$PG_USER:" "$to"; fi
  chmod 700 "$to"
  local args=("--pg1-path=$to" "--archive-mode=$archive_mode")
  if [[ -n "$target" ]]; then
    # Promote at the target: the cluster opens for writes instead of pausing for inspection.
    args+=(--type=time "--target=$target" --target-action=promote)
  else
    args+=(--type=default)
  fi
  pgbr "${args[@]}" restore
  log "restored into $to${target:+ (point in time $target)}"
  ((start)) || return 0
  local bin options="-p $port -k $socket -c listen_addresses=127.0.0.1"
  bin="$(pg_bin)"
  if [[ ! -f "$to/postgresql.conf" ]]; then
    # A Debian cluster's configuration is not in its data directory (nor in the backup).
    [[ -n "$pg_conf" ]] || die "$to has no postgresql.conf: give --pg-conf /etc/postgresql/<version>/<name>/postgresql.conf (or --no-start)"
    safe_path --pg-conf "$pg_conf"
    options+=" -c config_file=$pg_conf -c data_directory=$to"
  fi
  as_pg "$bin/pg_ctl" -D "$to" -l "$to/restore-start.log" -w -t 3600 -o "$options" start >/dev/null
  # pg_ctl returns once connections are accepted; recovery ends (and promotion) a little later.
  local i
  for ((i = 0; i < 3600; i++)); do
    if [[ "$(as_pg psql -X -A -t -h "$socket" -p "$port" -U postgres -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" == f ]]; then
      break
    fi
    sleep 1
  done
  ((i < 3600)) || die "the restored cluster did not leave recovery (see $to/restore-start.log)"
  cat <<EOF
The restored cluster runs from $to on 127.0.0.1:$port (promoted: a new timeline).
To switch the product to it:
  1. stop the API and the worker (systemctl stop xspectre-api xspectre-worker);
  2. either point DB_URL and DB_OWNER_URL at port $port, or stop this cluster, move $to
     to the old data directory's place and start it as the service;
  3. start the API and the worker; GET /api/v1/audit/verify after the worker's next run;
  4. take a full backup at once (platform-backup.sh full): the new timeline needs one.
EOF
}

cmd_keys_backup() {
  local recipient='' key_store="${API_KEY_STORE_DIR:-}" hub_key='' out=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --recipient) need_value "$@"; recipient="$2"; shift 2 ;;
      --key-store) need_value "$@"; key_store="$2"; shift 2 ;;
      --hub-key) need_value "$@"; hub_key="$2"; shift 2 ;;
      --out) need_value "$@"; out="$2"; shift 2 ;;
      *) die "keys backup: unknown option $1" ;;
    esac
  done
  [[ "$recipient" =~ ^age1[02-9ac-hj-np-z]{58}$ ]] || die "--recipient must be an age public key (age1…)"
  [[ -n "$key_store" || -n "$hub_key" ]] || die "keys backup needs --key-store (or API_KEY_STORE_DIR) and/or --hub-key"
  if [[ -z "$out" ]]; then
    local repo
    # An S3 repository's path is a key prefix, not a directory here: the files go to --out and are copied there.
    [[ "$(conf_get repo1-type || true)" != s3 ]] || die "the repository is S3: give --out DIR (then copy DIR to the bucket)"
    repo="$(conf_get repo1-path)" || die "no --out and no repo1-path in $CONFIG"
    out="$repo/keys"
  fi
  local dest
  dest="$out/$(date -u +%Y%m%dT%H%M%SZ)"
  [[ ! -e "$dest" ]] || die "$dest exists already"
  (umask 077 && mkdir -p "$dest")
  # Secrets only ever stream from the source through age: nothing clear lands on disk.
  if [[ -n "$key_store" ]]; then
    [[ -d "$key_store" ]] || die "key store $key_store is not a directory"
    tar -C "$key_store" -cf - . | (umask 077 && age -r "$recipient" -o "$dest/key-store.tar.age")
  fi
  if [[ -n "$hub_key" ]]; then
    [[ -f "$hub_key" ]] || die "hub key $hub_key is not a file"
    (umask 077 && age -r "$recipient" -o "$dest/hub-private.key.age" "$hub_key")
  fi
  printf '%s\n' "$dest"
  log "keys encrypted to $dest (restore with: keys restore --identity FILE --from $dest)"
}

cmd_keys_restore() {
  local identity='' from='' key_store="${API_KEY_STORE_DIR:-}" hub_key=''
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --identity) need_value "$@"; identity="$2"; shift 2 ;;
      --from) need_value "$@"; from="$2"; shift 2 ;;
      --key-store) need_value "$@"; key_store="$2"; shift 2 ;;
      --hub-key) need_value "$@"; hub_key="$2"; shift 2 ;;
      *) die "keys restore: unknown option $1" ;;
    esac
  done
  [[ -f "$identity" ]] || die "--identity must be the age identity file"
  [[ -d "$from" ]] || die "--from must be a directory written by keys backup"
  local restored=0
  if [[ -n "$key_store" && -f "$from/key-store.tar.age" ]]; then
    if [[ -e "$key_store" && -n "$(find "$key_store" -mindepth 1 -maxdepth 1 -print -quit)" ]]; then
      die "key store $key_store is not empty: move it away first (nothing is overwritten)"
    fi
    (umask 077 && mkdir -p "$key_store")
    age -d -i "$identity" "$from/key-store.tar.age" | tar -C "$key_store" -xpf -
    restored=1
    log "key store restored into $key_store"
  fi
  if [[ -n "$hub_key" && -f "$from/hub-private.key.age" ]]; then
    [[ ! -e "$hub_key" ]] || die "hub key $hub_key exists: move it away first (nothing is overwritten)"
    (umask 077 && mkdir -p "$(dirname "$hub_key")" && age -d -i "$identity" -o "$hub_key" "$from/hub-private.key.age")
    restored=1
    log "hub key restored into $hub_key"
  fi
  ((restored)) || die "nothing restored: give --key-store and/or --hub-key matching what $from holds"
}

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --config) need_value "$@"; CONFIG="$2"; shift 2 ;;
      --stanza) need_value "$@"; STANZA="$2"; shift 2 ;;
      --pg-user) need_value "$@"; PG_USER="$2"; shift 2 ;;
      -h | --help) usage; exit 0 ;;
      -*) die "unknown option $1 (see --help)" ;;
      *) break ;;
    esac
  done
  [[ $# -gt 0 ]] || { usage >&2; exit 2; }
  local command="$1"
  shift
  case "$command" in
    render) cmd_render "$@" ;;
    setup) cmd_setup "$@" ;;
    full) cmd_backup full ;;
    diff) cmd_backup diff ;;
    info) pgbr info ;;
    restore) cmd_restore "$@" ;;
    keys)
      [[ $# -gt 0 ]] || die "keys needs backup or restore"
      local sub="$1"
      shift
      case "$sub" in
        backup) cmd_keys_backup "$@" ;;
        restore) cmd_keys_restore "$@" ;;
        *) die "keys: unknown subcommand $sub (backup or restore)" ;;
      esac
      ;;
    *) die "unknown command $command (see --help)" ;;
  esac
}

main "$@"
