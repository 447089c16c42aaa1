#!/usr/bin/env bash
# bootstrap.sh: enrolls this machine as an xSPECTRE device. Run once, as root, by a technician:
#
#   bootstrap.sh --claim CODE --api URL [--agent-url URL] [--pin sha256//KEY] [--force]
#                [--allow-actions A,B] [--deny-actions C,D] [--insecure-http]
#   bootstrap.sh --configure-ssh --api URL
#
#   --claim CODE      the one-time claim code from the console (ABCD-EFGH-JKLM-NPQR-STUV)
#   --api URL         the Ops API as this machine reaches it, e.g. https://ops.example.com/api/v1
#   --agent-url URL   where to download the agent (default URL/agent/download/xspectre-agent);
#                     its SHA-256 is always checked against URL/agent/download/xspectre-agent.sha256
#   --pin sha256//KEY the API's TLS key pin (private CA, infra/proxy/README.md): every download
#                     from the API is made with curl --pinnedpubkey KEY
#   --insecure-http   allow http:// URLs (labs only): without TLS the claim code and this
#                     script's downloads cross the network in clear, so anyone on the path can
#                     read the code or change what runs as root here
#   --force           enroll again with a new claim code even if this device is enrolled
#   --allow-actions   remote actions this device accepts (comma-separated action names, or *)
#   --deny-actions    remote actions this device refuses (deny wins over allow)
#   --configure-ssh   on an enrolled device: (re)configure sshd for terminal and file sessions
#                     (xspectre-agent configure-ssh); for devices enrolled before they existed,
#                     and to repair the setup. Idempotent.
#
# The two action flags write the local policy /etc/xspectre/policy.json (0644, root): only a
# technician sets it, here or by hand; enrollment and commands never touch it. Given flags
# replace the whole file; without them an existing file is left as it is, and without a file
# every action is accepted except those that need an explicit allow (agent/README.md).
#
# Installs WireGuard tools, sudo and smartmontools when missing (apt or dnf), downloads and verifies the agent,
# installs restic (the distribution's, else the API's, checksum-verified),
# generates the WireGuard key pair (the private key never leaves this machine), enrolls (which
# also configures sshd for terminal sessions: account xspectre-ops with passwordless sudo,
# trusting the API's user CA for this device's principal only), brings up wg-quick@wg0 and the xspectre-agent service, and waits for the first
# acknowledged heartbeat over the tunnel. Safe to run again: an enrolled device only gets its
# services enabled and started.
#
# Exit codes: 0 ok; 1 unexpected failure; 2 usage; 3 claim code rejected; 4 API unreachable;
# 5 bad answer from the API; 6 local file problem; 8 API refused the enrollment;
# 10 not root; 11 unsupported system or missing prerequisite; 12 installing WireGuard failed;
# 13 downloaded agent failed its checksum; 14 tunnel did not come up; 15 no heartbeat acknowledged.
set -euo pipefail
umask 077

readonly AGENT_BIN=/usr/local/bin/xspectre-agent
readonly AGENT_CONF=/etc/xspectre/agent.conf
readonly WG_DIR=/etc/wireguard
readonly WG_KEY=/etc/wireguard/wg0.key
readonly WG_CONF=/etc/wireguard/wg0.conf
readonly SSH_HOST_KEY=/etc/ssh/ssh_host_ed25519_key.pub
readonly UNIT_FILE=/etc/systemd/system/xspectre-agent.service
readonly WG_DROPIN_DIR=/etc/systemd/system/wg-quick@wg0.service.d
readonly POLICY_FILE=/etc/xspectre/policy.json
# The agent's actions (COMMAND_ACTIONS in contracts/src/commands.ts; agent/test/bootstrap.spec.ts
# keeps the two equal). Other well-formed names are accepted with a warning: actions to come.
readonly KNOWN_ACTIONS="reboot service.restart service.start service.stop container.restart container.start container.stop diagnostics.collect script.run settings.apply credential.rotate keys.pin agent.update backup.run backup.restore scanner.refresh scanner.restart scanner.feed-update scanner.provision-monitor scanner.report-summary reboot-to-recovery recovery.image recovery.restore recovery.smart recovery.fsck recovery.reboot"
readonly RECENT_ACK_SECONDS=300
readonly TUNNEL_WAIT_SECONDS=30
readonly ACK_WAIT_SECONDS=90

readonly EXIT_USAGE=2
readonly EXIT_UNREACHABLE=4
readonly EXIT_NOT_ROOT=10
readonly EXIT_UNSUPPORTED=11
readonly EXIT_WG_INSTALL=12
readonly EXIT_CHECKSUM=13
readonly EXIT_TUNNEL=14
readonly EXIT_NO_ACK=15

CLAIM=""
API=""
AGENT_URL=""
FORCE=0
CONFIGURE_SSH=0
ALLOW_ACTIONS=""
DENY_ACTIONS=""
SET_ALLOW=0
SET_DENY=0
PIN=""
INSECURE_HTTP=0
# TLS options of every curl to the API (https only, redirects too; the pin when given).
CURL_TLS=()
PKG=""
USERSPACE=0
WORK_DIR=""
# Where the API's restic goes when the distribution has none (on the PATH of systemd units).
RESTIC_DEST=/usr/local/bin/restic

info() { printf 'bootstrap: %s\n' "$*"; }
warn() { printf 'bootstrap: warning: %s\n' "$*" >&2; }
die() {
  local code="$1"
  shift
  printf 'bootstrap: error: %s\n' "$*" >&2
  exit "$code"
}

usage() {
  cat <<'USAGE'
usage: bootstrap.sh --claim CODE --api URL [--agent-url URL] [--pin sha256//KEY] [--force]
                    [--allow-actions A,B] [--deny-actions C,D] [--insecure-http]
       bootstrap.sh --configure-ssh --api URL
  --claim CODE          one-time claim code from the console
  --api URL             the Ops API, e.g. https://ops.example.com/api/v1
  --agent-url URL       download the agent from here (checksum still from the API)
  --pin sha256//KEY     the API's TLS public-key pin (curl --pinnedpubkey) for every download
  --insecure-http       allow http:// URLs (labs only: the claim code and the downloads travel in clear)
  --force               re-enroll an already enrolled device with a new claim code
  --allow-actions LIST  remote actions this device accepts (e.g. service.restart,diagnostics.collect or *)
  --deny-actions LIST   remote actions this device refuses (e.g. reboot); deny wins
  --configure-ssh       enrolled device: (re)configure sshd for terminal and file sessions
                        (idempotent; for devices enrolled before they existed, or to repair)
  The action flags (re)write /etc/xspectre/policy.json as a whole.
USAGE
}

cleanup() {
  if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    rm -rf -- "$WORK_DIR"
  fi
}
trap cleanup EXIT

parse_args() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --claim | --api | --agent-url | --pin | --allow-actions | --deny-actions)
        [[ $# -ge 2 && -n "$2" ]] || {
          usage >&2
          die "$EXIT_USAGE" "$1 needs a value"
        }
        case "$1" in
          --claim) CLAIM="$2" ;;
          --api) API="$2" ;;
          --agent-url) AGENT_URL="$2" ;;
          --pin) PIN="$2" ;;
          --allow-actions) ALLOW_ACTIONS="$2" && SET_ALLOW=1 ;;
          --deny-actions) DENY_ACTIONS="$2" && SET_DENY=1 ;;
        esac
        shift 2
        ;;
      --claim=*) CLAIM="${1#*=}" && shift ;;
      --api=*) API="${1#*=}" && shift ;;
      --agent-url=*) AGENT_URL="${1#*=}" && shift ;;
      --pin=*) PIN="${1#*=}" && shift ;;
      --insecure-http) INSECURE_HTTP=1 && shift ;;
      --allow-actions=*) ALLOW_ACTIONS="${1#*=}" && SET_ALLOW=1 && shift ;;
      --deny-actions=*) DENY_ACTIONS="${1#*=}" && SET_DENY=1 && shift ;;
      --force) FORCE=1 && shift ;;
      --configure-ssh) CONFIGURE_SSH=1 && shift ;;
      -h | --help)
        usage
        exit 0
        ;;
      *)
        usage >&2
        die "$EXIT_USAGE" "unknown argument: $1"
        ;;
    esac
  done
  [[ -n "$API" ]] || {
    usage >&2
    die "$EXIT_USAGE" "--api is required"
  }
  [[ "$API" =~ ^https?://[^[:space:]]+$ ]] || die "$EXIT_USAGE" "--api must be an http(s) URL"
  API="${API%/}"
  if [[ -z "$AGENT_URL" ]]; then
    AGENT_URL="${API}/agent/download/xspectre-agent"
  fi
  [[ "$AGENT_URL" =~ ^https?://[^[:space:]]+$ ]] || die "$EXIT_USAGE" "--agent-url must be an http(s) URL"
  check_transport
  if [[ "$SET_ALLOW" -eq 1 ]]; then check_actions --allow-actions "$ALLOW_ACTIONS"; fi
  if [[ "$SET_DENY" -eq 1 ]]; then check_actions --deny-actions "$DENY_ACTIONS"; fi
}

# check_transport: https only, unless --insecure-http says this is a lab. Over plain HTTP anyone on
# the path reads the claim code and can change the agent or this script, which run as root.
check_transport() {
  local flag url
  for flag in --api --agent-url; do
    if [[ "$flag" == --api ]]; then url="$API"; else url="$AGENT_URL"; fi
    if [[ "$url" == http://* && "$INSECURE_HTTP" -eq 0 ]]; then
      die "$EXIT_USAGE" "$flag $url is plain HTTP: the claim code and the agent would cross the network in clear, readable and changeable by anyone on the path. Use the https:// URL from the console, or add --insecure-http for a lab"
    fi
  done
  if [[ -n "$PIN" ]]; then
    [[ "$PIN" =~ ^sha256//[A-Za-z0-9+/]{43}=$ ]] ||
      die "$EXIT_USAGE" "--pin must be sha256// and a base64 SHA-256 (44 characters), as the console's one-liner gives it"
    [[ "$API" == https://* ]] || die "$EXIT_USAGE" "--pin needs an https:// --api (a pin means nothing over plain HTTP)"
  fi
  CURL_TLS=()
  if [[ "$INSECURE_HTTP" -eq 0 ]]; then
    # No silent downgrade: neither the URL nor a redirect may leave https.
    CURL_TLS+=(--proto "=https" --proto-redir "=https")
  fi
  if [[ -n "$PIN" ]]; then
    # The pinned key is the trust anchor (a private CA the system does not know): --insecure
    # turns off only curl's CA-chain check, a different key still fails (curl exit 90).
    CURL_TLS+=(--insecure --pinnedpubkey "$PIN")
  fi
}

# check_actions FLAG LIST: every comma-separated name is `*` or a dotted lower-case action name
# (the policy's schema, agent/src/commands/policy.ts); a name the agent does not know is a warning.
check_actions() {
  local flag="$1" name
  local -a names
  IFS=',' read -r -a names <<<"$2"
  [[ "${#names[@]}" -gt 0 ]] || die "$EXIT_USAGE" "$flag needs at least one action name"
  for name in "${names[@]}"; do
    [[ "$name" == "*" || ("${#name}" -le 64 && "$name" =~ ^[a-z][a-z0-9_]*(-[a-z0-9_]+)*(\.[a-z][a-z0-9_]*(-[a-z0-9_]+)*)*$) ]] ||
      die "$EXIT_USAGE" "$flag: '$name' is not an action name (e.g. service.restart, scanner.feed-update) or *"
    if [[ "$name" != "*" && " $KNOWN_ACTIONS " != *" $name "* ]]; then
      warn "$flag: '$name' is not an action this agent knows today (known: $KNOWN_ACTIONS)"
    fi
  done
}

# json_list LIST: ["a","b"] from a checked comma-separated list (names hold no quote or backslash).
json_list() {
  local out="" name
  local -a names
  IFS=',' read -r -a names <<<"$1"
  for name in "${names[@]}"; do
    out+="${out:+,}\"$name\""
  done
  printf '[%s]' "$out"
}

# write_policy PATH: the local policy from --allow-actions/--deny-actions, replacing the file
# atomically (0644, root-owned); unchanged content is left alone. No flags: nothing is touched.
write_policy() {
  local path="$1" json="" tmp
  [[ "$SET_ALLOW" -eq 1 || "$SET_DENY" -eq 1 ]] || return 0
  if [[ "$SET_ALLOW" -eq 1 ]]; then json+="\"allow\":$(json_list "$ALLOW_ACTIONS")"; fi
  if [[ "$SET_DENY" -eq 1 ]]; then json+="${json:+,}\"deny\":$(json_list "$DENY_ACTIONS")"; fi
  json="{${json}}"
  if [[ -f "$path" && "$(cat -- "$path")" == "$json" ]]; then
    chmod 0644 "$path"
    info "local policy $path unchanged: $json"
    return 0
  fi
  install -d -m 0700 "$(dirname -- "$path")"
  tmp="$(mktemp "${path}.XXXXXX")"
  printf '%s\n' "$json" >"$tmp"
  chmod 0644 "$tmp"
  if [[ "$(id -u)" -eq 0 ]]; then
    chown 0:0 "$tmp"
  fi
  mv -f -- "$tmp" "$path"
  info "wrote the local policy $path: $json"
}

os_field() {
  # Reads KEY=value from /etc/os-release without executing it.
  sed -n "s/^$1=//p" /etc/os-release | head -n 1 | tr -d "\"'"
}

check_system() {
  [[ "$(id -u)" -eq 0 ]] || die "$EXIT_NOT_ROOT" "run as root (e.g. sudo bash bootstrap.sh ...)"
  [[ -r /etc/os-release ]] || die "$EXIT_UNSUPPORTED" "cannot identify the OS (/etc/os-release missing)"
  local id like
  id="$(os_field ID)"
  like="$(os_field ID_LIKE)"
  case " $id $like " in
    *" debian "* | *" ubuntu "*) PKG=apt ;;
    *" rhel "* | *" centos "* | *" fedora "* | *" almalinux "* | *" rocky "*) PKG=dnf ;;
    *) die "$EXIT_UNSUPPORTED" "unsupported OS '${id}': Debian/Ubuntu (apt) or CentOS/Alma/Rocky (dnf) required" ;;
  esac
  if [[ ! -d /run/systemd/system ]] || ! command -v systemctl >/dev/null; then
    die "$EXIT_UNSUPPORTED" "systemd is not running as the init system; the agent needs it"
  fi
  local cmd
  for cmd in curl sha256sum ip awk sed mktemp; do
    command -v "$cmd" >/dev/null || die "$EXIT_UNSUPPORTED" "'$cmd' is missing; install it and run again"
  done
}

kernel_has_wireguard() {
  ip link del dev xstest >/dev/null 2>&1 || true
  if ip link add dev xstest type wireguard >/dev/null 2>&1; then
    ip link del dev xstest >/dev/null 2>&1 || true
    return 0
  fi
  return 1
}

pkg_install() {
  info "installing $* with $PKG"
  if [[ "$PKG" == apt ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
  else
    dnf install -y -q "$@" >/dev/null
  fi
}

pkg_available() {
  if [[ "$PKG" == apt ]]; then
    apt-cache show "$1" >/dev/null 2>&1
  else
    dnf -q info "$1" >/dev/null 2>&1
  fi
}

# sudo for the account terminal and file sessions log in with (xspectre-ops, passwordless sudo).
# Not fatal: without it the agent reports the failed step and --configure-ssh retries it.
ensure_sudo() {
  if command -v sudo >/dev/null && command -v visudo >/dev/null; then
    return 0
  fi
  pkg_install sudo || warn "could not install sudo with $PKG: terminal and file sessions stay off until it is installed (then run bootstrap.sh --configure-ssh)"
}

# smartmontools: the agent reads the disks' SMART health every 10 minutes (smartctl). Not fatal:
# without it the agent reports disk health as unavailable with the reason.
ensure_smartmontools() {
  command -v smartctl >/dev/null && return 0
  if pkg_available smartmontools && pkg_install smartmontools; then
    return 0
  fi
  warn "could not install smartmontools with $PKG: disk health (SMART) stays unavailable until it is installed"
}

ensure_wireguard() {
  if ! command -v wg >/dev/null || ! command -v wg-quick >/dev/null; then
    pkg_install wireguard-tools || die "$EXIT_WG_INSTALL" "could not install wireguard-tools with $PKG"
  fi
  if kernel_has_wireguard; then
    USERSPACE=0
    return
  fi
  USERSPACE=1
  if ! command -v wireguard-go >/dev/null; then
    if pkg_available wireguard-go; then
      pkg_install wireguard-go || die "$EXIT_WG_INSTALL" "could not install wireguard-go with $PKG"
    else
      die "$EXIT_WG_INSTALL" "this kernel has no WireGuard module and wireguard-go is not available from $PKG"
    fi
  fi
  info "no WireGuard kernel module: wg-quick will use wireguard-go"
}

download_agent() {
  WORK_DIR="$(mktemp -d)"
  local bin="$WORK_DIR/xspectre-agent" sum="$WORK_DIR/xspectre-agent.sha256" expected actual
  info "downloading the agent from $AGENT_URL"
  curl -fsSL "${CURL_TLS[@]}" --retry 3 --connect-timeout 15 --max-time 900 -o "$bin" "$AGENT_URL" ||
    die "$EXIT_UNREACHABLE" "cannot download the agent from $AGENT_URL (is the API reachable from here?)"
  curl -fsSL "${CURL_TLS[@]}" --retry 3 --connect-timeout 15 --max-time 60 -o "$sum" "${API}/agent/download/xspectre-agent.sha256" ||
    die "$EXIT_UNREACHABLE" "cannot download the agent's checksum from ${API}/agent/download/xspectre-agent.sha256"
  expected="$(awk 'NR == 1 { print tolower($1) }' "$sum")"
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "$EXIT_CHECKSUM" "the API's checksum file is not a SHA-256; nothing was installed"
  actual="$(sha256sum "$bin" | awk '{ print $1 }')"
  [[ "$actual" == "$expected" ]] ||
    die "$EXIT_CHECKSUM" "the downloaded agent does not match the API's SHA-256 (got $actual, expected $expected); nothing was installed"
  chmod 0755 "$bin"
  local version
  version="$("$bin" --version)" || die "$EXIT_UNSUPPORTED" "the downloaded agent does not run on this machine"
  install -m 0755 "$bin" "${AGENT_BIN}.new"
  mv -f "${AGENT_BIN}.new" "$AGENT_BIN"
  info "installed xspectre-agent $version to $AGENT_BIN"
}

have_restic() {
  command -v restic >/dev/null
}

# restic for file backups: the distribution's package where it has one, else the API's copy,
# checked against the API's SHA-256. Never fatal: without restic the agent refuses backups
# with a clear reason, and running this script again installs it.
ensure_restic() {
  local dir bin sum expected actual
  have_restic && return 0
  if pkg_available restic && pkg_install restic; then
    return 0
  fi
  dir="$(mktemp -d)"
  bin="$dir/restic"
  sum="$dir/restic.sha256"
  info "restic is not packaged here: downloading it from the API"
  if ! curl -fsSL "${CURL_TLS[@]}" --retry 3 --connect-timeout 15 --max-time 300 -o "$bin" "${API}/agent/download/restic" ||
    ! curl -fsSL "${CURL_TLS[@]}" --retry 3 --connect-timeout 15 --max-time 30 -o "$sum" "${API}/agent/download/restic.sha256"; then
    warn "could not download restic from the API: file backups stay off on this device until restic is installed"
  else
    expected="$(awk '{ print $1; exit }' "$sum")"
    actual="$(sha256sum "$bin" | awk '{ print $1 }')"
    if [[ ! "$expected" =~ ^[0-9a-f]{64}$ || "$actual" != "$expected" ]]; then
      warn "the downloaded restic does not match the API's SHA-256 (got $actual): not installed"
    elif ! chmod 0755 "$bin" || ! "$bin" version >/dev/null 2>&1; then
      warn "the downloaded restic does not run on this machine: not installed"
    else
      install -m 0755 "$bin" "$RESTIC_DEST" && info "restic installed at $RESTIC_DEST"
    fi
  fi
  rm -rf -- "$dir"
}

ensure_keys() {
  install -d -m 0700 "$WG_DIR"
  if [[ -s "$WG_KEY" && -f "$AGENT_CONF" ]]; then
    info "keeping the existing WireGuard key $WG_KEY"
  else
    wg genkey >"${WG_KEY}.new"
    chmod 0600 "${WG_KEY}.new"
    mv -f "${WG_KEY}.new" "$WG_KEY"
    info "generated a new WireGuard key pair ($WG_KEY)"
  fi
  if [[ ! -s "$SSH_HOST_KEY" ]]; then
    command -v ssh-keygen >/dev/null || die "$EXIT_UNSUPPORTED" "no SSH host key at $SSH_HOST_KEY and no ssh-keygen: install openssh-server"
    ssh-keygen -A >/dev/null
    [[ -s "$SSH_HOST_KEY" ]] || die "$EXIT_UNSUPPORTED" "no SSH host key at $SSH_HOST_KEY"
  fi
}

enroll() {
  local args=(enroll --claim "$CLAIM" --api "$API" --wg-private-key-file "$WG_KEY" --wg-config-out "$WG_CONF"
    --ssh-host-key-file "$SSH_HOST_KEY")
  if [[ "$FORCE" -eq 1 ]]; then
    args+=(--force)
  fi
  if [[ -n "$PIN" ]]; then
    args+=(--pin "$PIN")
  fi
  info "enrolling with the API at $API"
  local rc=0
  "$AGENT_BIN" "${args[@]}" || rc=$?
  case "$rc" in
    0) ;;
    3) die 3 "the claim code was rejected (the API's reason is above); ask an operator for a new claim code" ;;
    4) die "$EXIT_UNREACHABLE" "the API at $API is unreachable from this machine" ;;
    5) die 5 "the API's answer was not understood; is $API the xSPECTRE Ops API?" ;;
    *) die "$rc" "enrollment failed (xspectre-agent exit code $rc)" ;;
  esac
}

write_units() {
  if [[ "$USERSPACE" -eq 1 ]]; then
    install -d -m 0755 "$WG_DROPIN_DIR"
    cat >"$WG_DROPIN_DIR/override.conf" <<'EOF'
[Service]
Environment=WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go
Environment=WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
EOF
    chmod 0644 "$WG_DROPIN_DIR/override.conf"
  fi
  # Same text as agent/systemd/xspectre-agent.service (a test keeps them equal).
  cat >"$UNIT_FILE" <<'UNIT'
# xspectre-agent: heartbeats (and later commands, backups) over the WireGuard overlay.
# Installed by bootstrap.sh to /etc/systemd/system/xspectre-agent.service.
#
# It runs as root on purpose: the features that follow (remote actions, restic backups of
# /etc and /var/lib/gvm, arming the recovery boot, configuring sshd) need root. The sandbox
# below still takes away what the agent never needs; widen it per feature, not wholesale.
[Unit]
Description=xSPECTRE device agent
After=network-online.target wg-quick@wg0.service
Wants=network-online.target

[Service]
Type=simple
# Its Node.js flags (small young generation, no JIT: an idle agent stays small) are built into
# the executable (agent/node-flags.json), so nothing is set here.
ExecStart=/usr/local/bin/xspectre-agent run
Restart=always
RestartSec=5
# SIGTERM: the agent finishes an in-flight request (at most a few seconds) and exits 0.
KillSignal=SIGTERM
TimeoutStopSec=20

# /etc/xspectre (agent.conf, read-only here) and /var/lib/xspectre (state, writable).
ConfigurationDirectory=xspectre
ConfigurationDirectoryMode=0700
StateDirectory=xspectre
StateDirectoryMode=0700
UMask=0077

# Sandbox.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/xspectre
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
UNIT
  chmod 0644 "$UNIT_FILE"
  systemctl daemon-reload
}

start_services() {
  # $1 = restart: pick up a new wg0.conf / agent.conf after (re-)enrollment.
  systemctl enable wg-quick@wg0.service xspectre-agent.service >/dev/null 2>&1 ||
    die 1 "systemctl enable wg-quick@wg0 xspectre-agent failed"
  if [[ "$1" == restart ]]; then
    systemctl restart wg-quick@wg0.service || die "$EXIT_TUNNEL" "wg-quick@wg0 failed to start (journalctl -u wg-quick@wg0)"
    systemctl restart xspectre-agent.service || die 1 "xspectre-agent failed to start (journalctl -u xspectre-agent)"
  else
    systemctl start wg-quick@wg0.service || die "$EXIT_TUNNEL" "wg-quick@wg0 failed to start (journalctl -u wg-quick@wg0)"
    systemctl start xspectre-agent.service || die 1 "xspectre-agent failed to start (journalctl -u xspectre-agent)"
  fi
}

hub_endpoint() {
  awk -F' *= *' '$1 == "Endpoint" { print $2; exit }' "$WG_CONF" 2>/dev/null || true
}

wait_for_tunnel() {
  local deadline=$((SECONDS + TUNNEL_WAIT_SECONDS))
  info "waiting for the WireGuard handshake with the hub"
  while ((SECONDS < deadline)); do
    if wg show wg0 latest-handshakes 2>/dev/null | awk '$2 > 0 { found = 1 } END { exit !found }'; then
      return 0
    fi
    sleep 1
  done
  die "$EXIT_TUNNEL" "the WireGuard tunnel did not come up within ${TUNNEL_WAIT_SECONDS} s: no handshake with the hub at $(hub_endpoint) (is outbound UDP to it allowed?)"
}

wait_for_ack() {
  info "waiting for the first acknowledged heartbeat"
  "$AGENT_BIN" status --wait-for-ack "$ACK_WAIT_SECONDS" >/dev/null ||
    die "$EXIT_NO_ACK" "no heartbeat acknowledged within ${ACK_WAIT_SECONDS} s (journalctl -u xspectre-agent)"
}

# configure_ssh: the --configure-ssh run on an enrolled device, once its tunnel is up (the
# setup comes from the API over it, with the device credential).
configure_ssh() {
  local usage_text rc=0
  usage_text="$("$AGENT_BIN" help)" || true
  [[ "$usage_text" == *"xspectre-agent configure-ssh"* ]] ||
    die 1 "the installed agent ($("$AGENT_BIN" --version)) predates terminal sessions: update it first (the console's agent update)"
  info "configuring sshd for terminal and file sessions"
  "$AGENT_BIN" configure-ssh || rc=$?
  case "$rc" in
    0) ;;
    4) die "$EXIT_UNREACHABLE" "the API is unreachable over the tunnel; is the agent reporting? (xspectre-agent status)" ;;
    *) die "$rc" "configuring sshd failed (xspectre-agent exit code $rc; its reason is above)" ;;
  esac
}

summary() {
  info "done. This device is enrolled and reporting:"
  "$AGENT_BIN" status | sed 's/^/  /'
}

main() {
  parse_args "$@"
  check_system
  write_policy "$POLICY_FILE"

  if [[ "$CONFIGURE_SSH" -eq 1 ]]; then
    [[ -f "$AGENT_CONF" && -x "$AGENT_BIN" ]] ||
      die 6 "--configure-ssh needs an enrolled device ($AGENT_CONF and $AGENT_BIN); enroll with --claim first"
    [[ -z "$CLAIM" && "$FORCE" -eq 0 ]] || die "$EXIT_USAGE" "--configure-ssh does not enroll: leave out --claim and --force"
  fi

  if [[ -f "$AGENT_CONF" && "$FORCE" -eq 0 ]]; then
    [[ -x "$AGENT_BIN" ]] || die 6 "$AGENT_CONF exists but $AGENT_BIN is missing; run again with --force and a new claim code"
    info "this device is already enrolled; making sure its services run (use --force to re-enroll)"
    ensure_wireguard
    ensure_restic
    ensure_sudo
    ensure_smartmontools
    [[ -f "$UNIT_FILE" ]] || write_units
    start_services start
    if ! "$AGENT_BIN" status --max-age "$RECENT_ACK_SECONDS" >/dev/null 2>&1; then
      wait_for_tunnel
      wait_for_ack
    fi
    if [[ "$CONFIGURE_SSH" -eq 1 ]]; then
      configure_ssh
    fi
    summary
    exit 0
  fi

  [[ -n "$CLAIM" ]] || {
    usage >&2
    die "$EXIT_USAGE" "--claim is required"
  }
  ensure_wireguard
  download_agent
  ensure_restic
  ensure_sudo
  ensure_smartmontools
  ensure_keys
  enroll
  write_units
  start_services restart
  wait_for_tunnel
  wait_for_ack
  summary
  info "API: $API"
}

# Sourced (agent/test/bootstrap.spec.ts tests the functions): define only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
