#!/usr/bin/env bash
# One image, the product's commands: api, worker, migrate (one-shot), proxy-setup (one-shot:
# the private CA and the Caddyfile into /etc/xspectre-proxy), backup-server, console.
set -euo pipefail
ROOT=/opt/xspectre
NODE="$ROOT/runtime/bin/node"
# DB_URL, DB_OWNER_URL and REDIS_URL from their parts when not given whole: the env file then
# holds each password once (infra/compose/README.md). Passwords are URL-safe by rule.
urlsafe='^[A-Za-z0-9._~-]+$'
if [[ -z "${DB_URL:-}" && -n "${XSPECTRE_DB_API_PASSWORD:-}" ]]; then
  [[ "$XSPECTRE_DB_API_PASSWORD" =~ $urlsafe ]] || { echo "XSPECTRE_DB_API_PASSWORD: letters, digits and . _ ~ - only" >&2; exit 2; }
  export DB_URL="postgres://xspectre_api:${XSPECTRE_DB_API_PASSWORD}@${XSPECTRE_DB_HOST:-postgres}:5432/${XSPECTRE_DB_NAME:-xspectre}"
fi
if [[ -z "${DB_OWNER_URL:-}" && -n "${XSPECTRE_DB_OWNER_PASSWORD:-}" ]]; then
  [[ "$XSPECTRE_DB_OWNER_PASSWORD" =~ $urlsafe ]] || { echo "XSPECTRE_DB_OWNER_PASSWORD: letters, digits and . _ ~ - only" >&2; exit 2; }
  export DB_OWNER_URL="postgres://${XSPECTRE_DB_OWNER:-xspectre_owner}:${XSPECTRE_DB_OWNER_PASSWORD}@${XSPECTRE_DB_HOST:-postgres}:5432/${XSPECTRE_DB_NAME:-xspectre}"
fi
if [[ -z "${REDIS_URL:-}" && -n "${REDIS_PASSWORD:-}" ]]; then
  [[ "$REDIS_PASSWORD" =~ $urlsafe ]] || { echo "REDIS_PASSWORD: letters, digits and . _ ~ - only" >&2; exit 2; }
  export REDIS_URL="redis://:${REDIS_PASSWORD}@${XSPECTRE_REDIS_HOST:-redis}:6379"
fi
# The private CA's pin, as the proxy-setup step wrote it, for the console's one-liner.
if [[ -z "${API_BOOTSTRAP_PIN:-}" && -s /etc/xspectre-proxy/pin ]]; then
  API_BOOTSTRAP_PIN="$(cat /etc/xspectre-proxy/pin)"
  export API_BOOTSTRAP_PIN
fi
cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  api) cd "$ROOT/api" && exec "$NODE" dist/main.js "$@" ;;
  worker) cd "$ROOT/api" && exec "$NODE" dist/worker.js "$@" ;;
  migrate) cd "$ROOT/api" && exec "$NODE" dist/db/migrate.js "$@" ;;
  backup-server) cd "$ROOT/backup-server" && exec "$NODE" dist/main.js "$@" ;;
  console) cd "$ROOT/console" && exec "$NODE" server.mjs "$@" ;;
  proxy-setup) exec /usr/local/bin/xspectre-proxy-setup "$@" ;;
  *)
    echo "usage: COMMAND: api | worker | migrate | proxy-setup | backup-server | console (got '${cmd}')" >&2
    exit 2
    ;;
esac
