#!/usr/bin/env bash
# First start: initdb into the (empty) volume, then the database, its owner (migrations) and the
# API's role (xspectre_api, db/migrations/*AppRole*) with passwords from the environment.
# Every start: the server in the foreground, password (SCRAM) logins over the network only.
set -euo pipefail
: "${XSPECTRE_DB_NAME:=xspectre}"
: "${XSPECTRE_DB_OWNER:=xspectre_owner}"
ident='^[a-z_][a-z0-9_]{0,62}$'
[[ "$XSPECTRE_DB_NAME" =~ $ident && "$XSPECTRE_DB_OWNER" =~ $ident ]] || {
  echo "XSPECTRE_DB_NAME and XSPECTRE_DB_OWNER must be lower-case SQL identifiers" >&2
  exit 2
}
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  for var in XSPECTRE_DB_OWNER_PASSWORD XSPECTRE_DB_API_PASSWORD; do
    [[ -n "${!var:-}" ]] || {
      echo "$var is not set (the env file, infra/compose/README.md)" >&2
      exit 2
    }
  done
  initdb -D "$PGDATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  cat >"$PGDATA/pg_hba.conf" <<'HBA'
local all postgres peer
host  all all 0.0.0.0/0 scram-sha-256
host  all all ::/0      scram-sha-256
HBA
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  # Passwords travel as psql variables (:'x' quotes them), never on a command line.
  psql -v ON_ERROR_STOP=1 -q -U postgres -d postgres \
    -v owner="$XSPECTRE_DB_OWNER" -v owner_pw="$XSPECTRE_DB_OWNER_PASSWORD" \
    -v api_pw="$XSPECTRE_DB_API_PASSWORD" -v db="$XSPECTRE_DB_NAME" <<'SQL'
CREATE ROLE :"owner" LOGIN CREATEROLE PASSWORD :'owner_pw';
CREATE ROLE xspectre_api LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'api_pw';
CREATE DATABASE :"db" OWNER :"owner";
SQL
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "xspectre-postgres: cluster created with database $XSPECTRE_DB_NAME"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c jit=off -c unix_socket_directories=/var/run/postgresql "$@"
