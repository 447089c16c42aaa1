#!/usr/bin/env bash
# The single-node WireGuard hub (API, PostgreSQL, Redis and hub on one server).
# Sourced by start.sh: defines hub_up, which needs start.sh's start_service and log/die.
# The kernel module is used when present; otherwise userspace wireguard-go runs as one of
# start.sh's services, so `npm stop` takes the hub down with the API.

HUB_IF="${XSPECTRE_HUB_INTERFACE:-xs-hub0}"
HUB_PORT="${XSPECTRE_HUB_PORT:-51820}"
HUB_CIDR="${XSPECTRE_HUB_CIDR:-10.10.0.1/24}"
HUB_DIR="$REPO_ROOT/var/hub"

# The address devices use to reach the hub: the machine's first address (no lookup is sent).
hub_underlay_address() {
  local address
  address="$(hostname -I 2>/dev/null | awk '{print $1}')"
  printf '%s' "${address:-127.0.0.1}"
}

hub_up() {
  if [[ ! "$HUB_IF" =~ ^[A-Za-z0-9_.-]{1,15}$ ]]; then
    die "XSPECTRE_HUB_INTERFACE must be an interface name (at most 15 characters)"
  fi
  mkdir -p "$HUB_DIR"
  chmod 700 "$HUB_DIR"
  if [[ ! -s "$HUB_DIR/private.key" ]]; then
    (
      umask 077
      wg genkey >"$HUB_DIR/private.key"
    )
    log "generated the hub key (var/hub/private.key)"
  fi
  if ! ip link show dev "$HUB_IF" >/dev/null 2>&1; then
    if ip link add dev "$HUB_IF" type wireguard 2>/dev/null; then
      log "hub $HUB_IF: kernel WireGuard"
    else
      WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 start_service hub "$LOG_DIR/hub.log" wireguard-go -f "$HUB_IF"
      local i
      for ((i = 0; i < 50; i++)); do
        ip link show dev "$HUB_IF" >/dev/null 2>&1 && break
        sleep 0.2
      done
      ip link show dev "$HUB_IF" >/dev/null 2>&1 || die "wireguard-go did not create $HUB_IF (see var/log/hub.log)"
    fi
  fi
  wg set "$HUB_IF" private-key "$HUB_DIR/private.key" listen-port "$HUB_PORT"
  ip address replace "$HUB_CIDR" dev "$HUB_IF"
  ip link set up dev "$HUB_IF"
  # Never forward between devices: each peer reaches the hub and nothing else.
  sysctl -qw "net.ipv4.conf.$HUB_IF.forwarding=0"
  log "hub $HUB_IF up: $HUB_CIDR, UDP $HUB_PORT"
}
