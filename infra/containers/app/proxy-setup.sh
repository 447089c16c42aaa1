#!/usr/bin/env bash
# The proxy's setup step (compose service proxy-setup): makes the private CA once (kept in the
# volume, so the pin survives restarts and upgrades) or takes ACME, writes proxy.json from the
# environment and renders the Caddyfile with infra/proxy/render.mjs (which validates it).
set -euo pipefail
ROOT=/opt/xspectre
NODE="$ROOT/runtime/bin/node"
OUT=/etc/xspectre-proxy
: "${PROXY_HOSTNAME:?set PROXY_HOSTNAME (the name or IP devices dial)}"
: "${PROXY_ALLOW_LIST:?set PROXY_ALLOW_LIST (comma-separated operator networks)}"
: "${PROXY_API_UPSTREAM:=${API_HOST:-10.10.0.1}:${API_PORT:-3000}}" "${PROXY_CONSOLE_UPSTREAM:?}"
export PROXY_API_UPSTREAM
TLS_MODE="${PROXY_TLS_MODE:-private-ca}"
if [[ "$TLS_MODE" == private-ca ]]; then
  names=(--name "$PROXY_HOSTNAME")
  IFS=, read -r -a extra <<<"${PROXY_EXTRA_NAMES:-}"
  for n in "${extra[@]}"; do [[ -n "$n" ]] && names+=(--name "$n"); done
  "$NODE" "$ROOT/infra/proxy/private-ca.mjs" --dir "$OUT/tls" "${names[@]}" >"$OUT/private-ca.txt"
  cat "$OUT/private-ca.txt"
  grep -o 'sha256//[A-Za-z0-9+/=]*' "$OUT/private-ca.txt" | head -n 1 >"$OUT/pin"
else
  rm -f "$OUT/pin"
fi
# proxy.json from the environment; render.mjs checks every field (zod) and exits 2 on a bad one.
"$NODE" - "$OUT/proxy.json" <<'NODE'
const { writeFileSync } = require('node:fs');
const env = process.env;
const list = (v) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const tls =
  (env.PROXY_TLS_MODE ?? 'private-ca') === 'acme'
    ? { mode: 'acme', ...(env.PROXY_ACME_EMAIL ? { email: env.PROXY_ACME_EMAIL } : {}) }
    : { mode: 'private-ca', certFile: '/etc/xspectre-proxy/tls/server.crt', keyFile: '/etc/xspectre-proxy/tls/server.key' };
const settings = {
  hostname: env.PROXY_HOSTNAME,
  tls,
  httpsPort: Number(env.PROXY_HTTPS_PORT ?? 443),
  httpPort: Number(env.PROXY_HTTP_PORT ?? 80),
  http: env.PROXY_HTTP ?? 'refuse',
  bind: list(env.PROXY_BIND),
  allowList: list(env.PROXY_ALLOW_LIST),
  upstreams: { api: env.PROXY_API_UPSTREAM, console: env.PROXY_CONSOLE_UPSTREAM },
};
writeFileSync(process.argv[2], `${JSON.stringify(settings, null, 2)}\n`);
NODE
"$NODE" "$ROOT/infra/proxy/render.mjs" --config "$OUT/proxy.json" --out "$OUT/Caddyfile"
# Caddy (the proxy image's user caddy, uid 10002) reads the certificate and key; nothing else in the volume is secret to it.
# The pin is public (it is in every one-liner); the API reads it from here.
chown -R 10002:10002 "$OUT"
chmod 0755 "$OUT"
[[ -f "$OUT/pin" ]] && chmod 0644 "$OUT/pin"
[[ -d "$OUT/tls" ]] && chmod 0700 "$OUT/tls"
echo "proxy-setup: rendered $OUT/Caddyfile"
