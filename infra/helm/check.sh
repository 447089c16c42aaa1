#!/usr/bin/env bash
# Lints and renders the xspectre chart without the helm binary (infra/helm/README.md): builds
# infra/helm/render (helm's template engine: Go text/template + sprig) offline with Debian's Go
# and packages into a temporary directory, then for the default values and ci-values.yaml runs
# `render lint` and `render template`.
#   infra/helm/check.sh [OUT_DIR]
# OUT_DIR (optional) receives default.yaml, ci.yaml, their JSON forms (default.json, ci.json) and
# the renderer itself (render), for more runs with other values (infra/helm/test/helm-chart.spec.ts).
# Exit codes: 0 all passed; 1 a lint or render failed; 2 the renderer could not be built.
set -euo pipefail

HELM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHART="$HELM_DIR/xspectre"
OUT="${1:-}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if ! command -v go >/dev/null 2>&1; then
  echo "check.sh: go is missing (Debian: golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev)" >&2
  exit 2
fi
# GOPATH mode against /usr/share/gocode (the Debian -dev packages): no module download, ever.
if ! (cd "$HELM_DIR/render" && GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS='' GOCACHE="$WORK/cache" \
  go build -o "$WORK/render" .); then
  echo "check.sh: building infra/helm/render failed (are golang-github-masterminds-sprig-dev and golang-gopkg-yaml.v3-dev installed?)" >&2
  exit 2
fi

status=0
run() {
  local label="$1"
  shift
  echo "==> $label: lint"
  "$WORK/render" lint "$CHART" "$@" || status=1
  echo "==> $label: template"
  if "$WORK/render" template "$CHART" --name xspectre --namespace xspectre "$@" >"$WORK/$label.yaml" &&
    "$WORK/render" template "$CHART" --name xspectre --namespace xspectre --json "$@" >"$WORK/$label.json"; then
    echo "$(grep -c '^kind:' "$WORK/$label.yaml") objects rendered"
    if [[ -n "$OUT" ]]; then
      mkdir -p "$OUT"
      cp "$WORK/$label.yaml" "$WORK/$label.json" "$OUT/"
    fi
  else
    status=1
  fi
}

run default
run ci -f "$HELM_DIR/ci-values.yaml"
if [[ -n "$OUT" ]]; then
  mkdir -p "$OUT"
  cp "$WORK/render" "$OUT/render"
fi
exit "$status"
