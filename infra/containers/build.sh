#!/usr/bin/env bash
# Builds the product's container images with the docker CLI against DOCKER_HOST (or the CLI's
# default engine), without any registry: the base image is imported from a debootstrap root
# filesystem cached under /var/cache/xspectre-containers, every other image is built FROM it.
# See README.md here.
#
#   infra/containers/build.sh [--release DIR] [--only NAME[,NAME...]]
#
# --release DIR  a release tree from infra/release/build.sh (needed for the api, console and
#                backup-server images; without it only base, postgres, redis, proxy and hub)
# --only         build only these images (base is always made when missing)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="${XSPECTRE_CONTAINER_CACHE:-/var/cache/xspectre-containers}"
MIRROR="${XSPECTRE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
BASE_PACKAGES=(ca-certificates tini)
# Bump when base/strip.sh or the recipe changes in a way the hash cannot see.
RECIPE_VERSION=1

log() { printf '==> %s\n' "$*"; }
die() {
  printf '==> ERROR: %s\n' "$*" >&2
  exit 1
}
usage() {
  echo "usage: $0 [--release DIR] [--only NAME[,NAME...]]" >&2
  exit 2
}

RELEASE="" ONLY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --release)
      [[ $# -ge 2 ]] || usage
      RELEASE="$2"
      shift 2
      ;;
    --only)
      [[ $# -ge 2 ]] || usage
      ONLY=",$2,"
      shift 2
      ;;
    -h | --help) usage ;;
    *)
      echo "unknown argument: $1" >&2
      usage
      ;;
  esac
done
if [[ -n "$RELEASE" ]]; then
  [[ -x "$RELEASE/runtime/bin/node" && -f "$RELEASE/api/dist/main.js" ]] || die "$RELEASE is not a release tree (infra/release/build.sh --out DIR)"
  RELEASE="$(cd "$RELEASE" && pwd)"
fi
wanted() { [[ -z "$ONLY" || "$ONLY" == *",$1,"* ]]; }

# Debian's client matches Debian's engine; another docker CLI on PATH may speak a newer API.
DOCKER=docker
[[ -x /usr/bin/docker ]] && DOCKER=/usr/bin/docker
"$DOCKER" version --format '{{.Server.Version}}' >/dev/null || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-default})"

# --- the base image: bookworm minbase + ca-certificates + tini, no docs, no apt lists ---------
RECIPE_HASH="$(printf '%s\n' "$SUITE" "$MIRROR" "${BASE_PACKAGES[*]}" "$RECIPE_VERSION" | cat - "$HERE/base/strip.sh" | sha256sum | cut -c1-12)"
BASE_IMAGE="xspectre/base:$SUITE-$RECIPE_HASH"
BASE_TAR="$CACHE_DIR/base-$SUITE-$RECIPE_HASH.tar"

# In a subshell: its EXIT trap cleans up whether debootstrap works or not.
build_base_tarball() (
  mkdir -p "$CACHE_DIR"
  work="$(mktemp -d "$CACHE_DIR/build-XXXXXX")"
  # debootstrap may leave /proc mounted in a failed target.
  trap 'umount -R "$work/rootfs" 2>/dev/null || true; rm -rf "$work"' EXIT
  log "debootstrap $SUITE (minbase + ${BASE_PACKAGES[*]}), cached as $BASE_TAR"
  debootstrap --variant=minbase --include="$(
    IFS=,
    echo "${BASE_PACKAGES[*]}"
  )" "$SUITE" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    die "debootstrap failed"
  }
  bash "$HERE/base/strip.sh" "$work/rootfs"
  tar --numeric-owner -C "$work/rootfs" -cf "$BASE_TAR.$$.tmp" .
  mv "$BASE_TAR.$$.tmp" "$BASE_TAR"
)

if ! "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  [[ -f "$BASE_TAR" ]] || build_base_tarball
  log "importing $BASE_TAR as $BASE_IMAGE"
  "$DOCKER" import --change 'ENTRYPOINT ["/usr/bin/tini", "--"]' --change 'CMD ["/bin/bash"]' \
    --change 'ENV LANG=C.UTF-8' "$BASE_TAR" "$BASE_IMAGE" >/dev/null
fi
"$DOCKER" tag "$BASE_IMAGE" xspectre/base:latest

# build NAME CONTEXT DOCKERFILE: the image xspectre/NAME:latest. Package installs need the
# network during the build; host networking works on an engine without a default bridge too.
BUILT=(base)
build() {
  local name="$1" context="$2" dockerfile="$3"
  log "building xspectre/$name"
  "$DOCKER" build --quiet --network host --build-arg "BASE=$BASE_IMAGE" \
    -f "$dockerfile" -t "xspectre/$name:latest" "$context" >/dev/null
  BUILT+=("$name")
}

for name in postgres redis proxy hub; do
  wanted "$name" && build "$name" "$HERE/$name" "$HERE/$name/Dockerfile"
done

if [[ -n "$RELEASE" ]]; then
  staging="$(mktemp -d /tmp/xspectre-containers-XXXXXX)"
  trap 'rm -rf "$staging"' EXIT
  # context NAME PART...: a build context with only these parts of the release tree (hard links
  # when on one file system, else copies) and the images' scripts, so the engine is sent no more.
  context() {
    local name="$1" part
    shift
    mkdir -p "$staging/$name/tree"
    cp "$HERE/app/entrypoint.sh" "$HERE/app/proxy-setup.sh" "$staging/$name/"
    for part in "$@"; do
      mkdir -p "$(dirname "$staging/$name/tree/$part")"
      cp -al "$RELEASE/$part" "$staging/$name/tree/$part" 2>/dev/null || cp -a "$RELEASE/$part" "$staging/$name/tree/$part"
    done
  }
  common=(runtime node_modules package.json RELEASE.json contracts)
  if wanted api; then
    context api "${common[@]}" wireguard api agent infra/proxy
    # Not the console's web framework (Next.js and React, over 300 MB): no server code imports it.
    rm -rf "$staging/api/tree/node_modules"/{next,@next,react,react-dom,@xterm,scheduler}
    build api "$staging/api" "$HERE/app/api.Dockerfile"
  fi
  if wanted console; then
    context console "${common[@]}" console
    build console "$staging/console" "$HERE/app/console.Dockerfile"
  fi
  if wanted backup-server; then
    context backup-server "${common[@]}" backup-server
    rm -rf "$staging/backup-server/tree/node_modules"/{next,@next,react,react-dom,@xterm,scheduler}
    build backup-server "$staging/backup-server" "$HERE/app/backup-server.Dockerfile"
  fi
fi

log "images:"
for name in "${BUILT[@]}"; do
  printf '    %-24s %s\n' "xspectre/$name" "$("$DOCKER" image inspect --format '{{.Size}}' "xspectre/$name:latest" | awk '{ printf "%.1f MB", $1 / 1000000 }')"
done
