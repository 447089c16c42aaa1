#!/usr/bin/env bash
# The hub as infra/scripts/hub.sh brings it up, in the foreground: the interface lives as long as
# this container. Its control socket (/run/wireguard, a volume shared with the API) belongs to
# the API's user, so the API (not root) can set the peers.
set -euo pipefail
HUB_IF="${HUB_IF:-xs-hub0}"
HUB_CIDR="${HUB_CIDR:-10.10.0.1/24}"
HUB_PORT="${HUB_PORT:-51820}"
API_UID="${API_UID:-10001}"
KEY=/var/lib/xspectre-hub/private.key
[[ "$HUB_IF" =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || {
  echo "HUB_IF must be an interface name" >&2
  exit 2
}
if [[ ! -s "$KEY" ]]; then
  (umask 077 && wg genkey >"$KEY")
  echo "xspectre-hub: generated the hub key in the volume"
fi
if ip link show dev "$HUB_IF" >/dev/null 2>&1; then
  echo "xspectre-hub: $HUB_IF exists already (another hub on this host?)" >&2
  exit 1
fi
# Userspace wireguard-go, run as the API's user with only NET_ADMIN (a file capability of the
# binary, within the container's cap_add): its control socket is then
# the API's from the start. (Changing the socket's owner afterwards makes wireguard-go exit: it
# watches the file. Kernel WireGuard would need NET_ADMIN in the API, which runs without root.)
# The key too: whoever holds the socket can read it from wireguard-go anyway.
chown "$API_UID" /run/wireguard /dev/net/tun "$KEY"
setpriv --reuid "$API_UID" --regid "$API_UID" --clear-groups \
  env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$HUB_IF" &
child=$!
for _ in $(seq 100); do
  ip link show dev "$HUB_IF" >/dev/null 2>&1 && [[ -S "/run/wireguard/$HUB_IF.sock" ]] && break
  sleep 0.1
done
stop() {
  kill "$child" 2>/dev/null || true
  wait "$child" 2>/dev/null || true
  ip link del dev "$HUB_IF" 2>/dev/null || true
  exit 0
}
trap stop TERM INT
# Through the socket as its owner.
setpriv --reuid "$API_UID" --regid "$API_UID" --clear-groups wg set "$HUB_IF" private-key "$KEY" listen-port "$HUB_PORT"
ip address replace "$HUB_CIDR" dev "$HUB_IF"
ip link set up dev "$HUB_IF"
# Devices reach the hub and nothing else (read-only /proc/sys in a container: then say so).
sysctl -qw "net.ipv4.conf.$HUB_IF.forwarding=0" 2>/dev/null ||
  [[ "$(cat "/proc/sys/net/ipv4/conf/$HUB_IF/forwarding")" == 0 ]] ||
  echo "xspectre-hub: WARNING: forwarding is on for $HUB_IF; set net.ipv4.conf.$HUB_IF.forwarding=0 on the host" >&2
echo "xspectre-hub: $HUB_IF $HUB_CIDR, UDP $HUB_PORT, public key $(setpriv --reuid "$API_UID" --regid "$API_UID" --clear-groups wg show "$HUB_IF" public-key)"
wait "$child"
