#!/usr/bin/env bash
# The password goes to redis-server on its standard input (a config file of one line), not on
# its command line, where any process of the host could read it.
set -euo pipefail
[[ -n "${REDIS_PASSWORD:-}" ]] || {
  echo "REDIS_PASSWORD is not set (the env file, infra/compose/README.md)" >&2
  exit 2
}
[[ "$REDIS_PASSWORD" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || {
  echo "REDIS_PASSWORD: use letters, digits and . _ ~ + / = - only" >&2
  exit 2
}
exec redis-server - --bind 0.0.0.0 -::* --port 6379 --protected-mode no \
  --dir /data --appendonly yes --save '' "$@" <<<"requirepass $REDIS_PASSWORD"
