#!/usr/bin/env bash
# Builds a self-contained release tree of the product (what infra/deploy/deploy.sh installs and
# the container images copy): the shipped workspaces' built output, their production
# node_modules and the Node.js binary the native addons were built for. See README.md here.
#
#   infra/release/build.sh --out DIR [--no-build] [--version V] [--tarball]
#
# --no-build   use what the repository has built already (tsc -b, console next build, agent SEA)
# --version V  the release's version string (default: api/package.json's version)
# --tarball    also write DIR.tar.gz
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The workspaces a deployment runs; infra/lab (the test lab) is never shipped.
SHIPPED_WORKSPACES=(contracts wireguard backup-server api agent console)

log() { printf '==> %s\n' "$*"; }
die() {
  printf '==> ERROR: %s\n' "$*" >&2
  exit 1
}
usage() {
  echo "usage: $0 --out DIR [--no-build] [--version V] [--tarball]" >&2
  exit 2
}

OUT="" BUILD=1 VERSION="" TARBALL=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out)
      [[ $# -ge 2 ]] || usage
      OUT="$2"
      shift 2
      ;;
    --no-build)
      BUILD=0
      shift
      ;;
    --version)
      [[ $# -ge 2 ]] || usage
      VERSION="$2"
      shift 2
      ;;
    --tarball)
      TARBALL=1
      shift
      ;;
    -h | --help) usage ;;
    *)
      echo "unknown argument: $1" >&2
      usage
      ;;
  esac
done
[[ -n "$OUT" ]] || usage
if [[ -n "$VERSION" && ! "$VERSION" =~ ^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$ ]]; then
  die "--version must be letters, digits, '.', '+' or '-' (got '$VERSION')"
fi
if [[ -e "$OUT" ]] && [[ -n "$(ls -A "$OUT")" ]]; then
  die "$OUT exists and is not empty; give a new or empty directory"
fi

cd "$REPO_ROOT"
if [[ "$BUILD" -eq 1 ]]; then
  log "npx tsc -b"
  npx tsc -b
  log "npm run build -w console (next build)"
  npm run build -w console
  log "npm run build:sea -w agent"
  npm run build:sea -w agent
fi
for f in api/dist/main.js api/dist/worker.js api/dist/db/migrate.js backup-server/dist/main.js \
  console/.next/BUILD_ID agent/dist/sea/xspectre-agent agent/dist/sea/xspectre-agent.build.json; do
  [[ -f "$f" ]] || die "$f is missing: build first (run without --no-build)"
done

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
log "staging the release tree in $OUT"

# The Node.js binary that built (and loads) the native addons: they are ABI-bound to it.
mkdir -p "$OUT/runtime/bin"
cp "$(node -p process.execPath)" "$OUT/runtime/bin/node"
chmod 0755 "$OUT/runtime/bin/node"

# copy_dist WS : WS/dist without test files, type declarations or build info.
copy_dist() {
  local ws="$1"
  mkdir -p "$OUT/$ws"
  cp -a "$ws/dist" "$OUT/$ws/dist"
  find "$OUT/$ws/dist" \( -name '*.spec.*' -o -name '*.test.*' -o -name '*.d.ts' -o -name '*.d.ts.map' \
    -o -name '*.tsbuildinfo' \) -type f -delete
}

for ws in "${SHIPPED_WORKSPACES[@]}"; do
  mkdir -p "$OUT/$ws"
  cp "$ws/package.json" "$OUT/$ws/package.json"
done
for ws in contracts wireguard backup-server api; do
  copy_dist "$ws"
done
# The agent: only what the API serves (the single executable, its checksum and build info) and
# bootstrap.sh; its dist/*.js are bundled into the executable.
mkdir -p "$OUT/agent/dist/sea"
cp agent/bootstrap.sh "$OUT/agent/bootstrap.sh"
for f in xspectre-agent xspectre-agent.sha256 xspectre-agent.build.json; do
  cp -a "agent/dist/sea/$f" "$OUT/agent/dist/sea/$f"
done
# The console: its server and Next.js's production build (no dev cache).
cp console/server.mjs "$OUT/console/"
cp -a console/server "$OUT/console/server"
find "$OUT/console/server" -name '*.d.mts' -delete
cp console/next.config.* "$OUT/console/"
mkdir -p "$OUT/console/.next"
(cd console/.next && tar --exclude=./cache --exclude=./trace --exclude=./dev -cf - .) | (cd "$OUT/console/.next" && tar -xf -)
if [[ -d console/public ]]; then
  cp -a console/public "$OUT/console/public"
fi
# The hub's helper script (deploy.sh reuses its wireguard-go detection).
mkdir -p "$OUT/infra/scripts" "$OUT/infra/proxy" "$OUT/infra/backup"
cp infra/scripts/hub.sh infra/scripts/lib.sh "$OUT/infra/scripts/"
cp infra/proxy/render.mjs infra/proxy/private-ca.mjs "$OUT/infra/proxy/"
if [[ -d infra/proxy/src ]]; then
  cp -a infra/proxy/src "$OUT/infra/proxy/src"
  find "$OUT/infra/proxy/src" \( -name '*.spec.*' -o -name '*.d.mts' \) -type f -delete
fi
cp -a infra/backup/. "$OUT/infra/backup/"
if [[ -d infra/deploy ]]; then
  cp -a infra/deploy "$OUT/infra/deploy"
fi

# Root manifests reduced to the shipped workspaces, without dev tooling.
SHIPPED_JSON="$(printf '%s\n' "${SHIPPED_WORKSPACES[@]}" | node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0, "utf8").trim().split("\n")))')"
node - "$REPO_ROOT" "$OUT" "$SHIPPED_JSON" <<'NODE'
const { readFileSync, writeFileSync } = require('node:fs');
const [root, out, shippedJson] = process.argv.slice(2);
const shipped = new Set(JSON.parse(shippedJson));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
const reduced = {
  name: pkg.name,
  private: true,
  type: pkg.type,
  description: pkg.description,
  workspaces: pkg.workspaces.filter((ws) => shipped.has(ws)),
  engines: pkg.engines,
  allowScripts: pkg.allowScripts,
};
writeFileSync(`${out}/package.json`, `${JSON.stringify(reduced, null, 2)}\n`);
// The lock without the workspaces that are not shipped (npm recomputes the rest).
const lock = JSON.parse(readFileSync(`${root}/package-lock.json`, 'utf8'));
const dropped = pkg.workspaces.filter((ws) => !shipped.has(ws));
for (const ws of dropped) {
  delete lock.packages[ws];
  for (const [key, value] of Object.entries(lock.packages)) {
    if (value.link && value.resolved === ws) delete lock.packages[key];
  }
}
lock.packages[''].workspaces = reduced.workspaces;
delete lock.packages[''].devDependencies;
writeFileSync(`${out}/package-lock.json`, `${JSON.stringify(lock, null, 2)}\n`);
NODE

log "npm install --omit=dev (production dependencies, from the npm cache when possible)"
(cd "$OUT" && npm install --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error)
# Next.js's optional image optimizer (sharp, ~40 MB): the console sets images.unoptimized
# (console/next.config.ts). Its SWC binary stays: Next.js compiles next.config.ts with it at start.
rm -rf "$OUT/node_modules/sharp" "$OUT/node_modules/@img"
find "$OUT/node_modules" -name '*.tsbuildinfo' -type f -delete

COMMIT="$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$REPO_ROOT" status --porcelain --untracked-files=no 2>/dev/null || true)" ]]; then
  COMMIT="$COMMIT-dirty"
fi
if [[ -z "$VERSION" ]]; then
  VERSION="$(node -p 'require("./api/package.json").version')"
fi
# shellcheck disable=SC2016 # JavaScript, not shell: its ${} are template literals
node -e '
  const [out, version, commit] = process.argv.slice(1);
  const release = { version, commit, builtAt: new Date().toISOString(), node: process.version };
  require("fs").writeFileSync(`${out}/RELEASE.json`, JSON.stringify(release, null, 2) + "\n");
' "$OUT" "$VERSION" "$COMMIT"

log "release $VERSION ($COMMIT): $(du -sh "$OUT" | cut -f1) in $OUT"
if [[ "$TARBALL" -eq 1 ]]; then
  tar -C "$(dirname "$OUT")" -czf "$OUT.tar.gz" "$(basename "$OUT")"
  log "tarball: $OUT.tar.gz ($(du -sh "$OUT.tar.gz" | cut -f1))"
fi
