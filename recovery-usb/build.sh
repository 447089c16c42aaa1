#!/usr/bin/env bash
# Builds the xSPECTRE recovery stick image: a raw GPT disk (BIOS + UEFI boot) whose system is a
# Debian bookworm root filesystem booted as an initramfs (the whole root lives in RAM).
#
#   recovery-usb/build.sh --out DIR [--cache DIR] [--agent PATH]
#
# --agent PATH: the agent's single executable (npm run build:sea -w agent writes
# agent/dist/sea/xspectre-agent) goes in as /usr/local/bin/xspectre-agent, with
# /usr/local/bin/xspectre-recovery (files/xspectre-recovery) for /init to start. Its bytes are an
# input of the recipe. Without it the image has no agent (/init says step=agent absent).
#
# Writes DIR/xspectre-recovery.img, DIR/manifest.json and DIR/SHA256SUMS. Needs root (debootstrap
# and chroot) but no loop devices or mounts: file systems are made with mkfs.fat -C + mtools and
# placed into the image with dd. See recovery-usb/README.md for the layout and reproducibility.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUITE=bookworm
MIRROR="${XS_RECOVERY_MIRROR:-http://deb.debian.org/debian}"
# Bump when the rootfs stage below changes in a way the cache key cannot see.
ROOTFS_RECIPE_VERSION=1
# A fixed date from the recipe (2025-01-01T00:00:00Z): every timestamp in the image is this one.
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1735689600}"
export SOURCE_DATE_EPOCH TZ=UTC LC_ALL=C

OUT=""
CACHE="/var/cache/xspectre-recovery"
AGENT=""
USAGE="usage: $0 --out DIR [--cache DIR] [--agent PATH]"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --cache) CACHE="$2"; shift 2 ;;
    --agent) AGENT="$2"; shift 2 ;;
    -h | --help) echo "$USAGE"; exit 0 ;;
    *) echo "unknown argument: $1 ($USAGE)" >&2; exit 2 ;;
  esac
done
[ -n "$OUT" ] || { echo "$USAGE" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "build.sh needs root (debootstrap, chroot)" >&2; exit 1; }
for tool in debootstrap sgdisk mkfs.fat mcopy grub-mkimage cpio zstd dpkg-query; do
  command -v "$tool" >/dev/null || { echo "missing host tool: $tool (infra/scripts/lib.sh lab_apt_packages installs it)" >&2; exit 1; }
done
{ [ -d /usr/lib/grub/i386-pc ] && [ -d /usr/lib/grub/x86_64-efi ]; } || { echo "missing grub-pc-bin / grub-efi-amd64-bin" >&2; exit 1; }

START=$(date +%s)
log() { printf '==> [%4ss] %s\n' "$(($(date +%s) - START))" "$*"; }

# The agent (optional): its SHA-256 is part of the recipe; version and build id as it reports them
# (run with an empty environment, as build-sea.mjs checks it).
AGENT_SHA256=none
AGENT_VERSION=""
AGENT_BUILD_ID=""
AGENT_BYTES=0
if [ -n "$AGENT" ]; then
  { [ -f "$AGENT" ] && [ -x "$AGENT" ]; } || { echo "--agent $AGENT is not an executable file" >&2; exit 2; }
  AGENT="$(cd "$(dirname "$AGENT")" && pwd)/$(basename "$AGENT")"
  AGENT_SHA256=$(sha256sum "$AGENT" | cut -c1-64)
  AGENT_BYTES=$(stat -c %s "$AGENT")
  AGENT_VERSION=$(env -i "$AGENT" --version) || { echo "--agent $AGENT: --version failed" >&2; exit 1; }
  AGENT_BUILD_ID=$(env -i "$AGENT" build-id) || { echo "--agent $AGENT: build-id failed" >&2; exit 1; }
  [[ "$AGENT_VERSION" =~ ^[0-9A-Za-z.+-]{1,64}$ ]] || { echo "--agent $AGENT reports an odd version" >&2; exit 1; }
  [[ "$AGENT_BUILD_ID" =~ ^[0-9a-f]{64}$ ]] || { echo "--agent $AGENT reports an odd build id" >&2; exit 1; }
fi

mapfile -t PACKAGES < <(grep -v -e '^#' -e '^[[:space:]]*$' "$HERE/packages.txt" | LC_ALL=C sort -u)
ROOTFS_KEY=$(printf '%s\n' "$SUITE" "$MIRROR" "$ROOTFS_RECIPE_VERSION" "${PACKAGES[@]}" | sha256sum | cut -c1-16)
# The recipe: everything in the repository that decides the image's bytes.
RECIPE_HASH=$(
  cd "$HERE" && { printf '%s\n' "$SUITE" "$MIRROR" "$SOURCE_DATE_EPOCH"; cat build.sh packages.txt; find files -type f | LC_ALL=C sort | xargs cat; echo "agent=$AGENT_SHA256"; } | sha256sum | cut -c1-64
)
# Stable identifiers derived from the recipe hash (GPT GUIDs, FAT serials): same recipe, same bytes.
derive() { printf '%s/%s' "$RECIPE_HASH" "$1" | sha256sum | cut -c1-32; }
guid() { local h; h=$(derive "$1"); echo "${h:0:8}-${h:8:4}-4${h:13:3}-a${h:17:3}-${h:20:12}"; }
fat_serial() { derive "$1" | cut -c1-8; }

mkdir -p "$OUT" "$CACHE"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d /var/tmp/xs-recovery-build.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"

# --- 1. root filesystem (cached, keyed by the package list) ------------------------------------
ROOTFS_TAR="$CACHE/rootfs-$SUITE-$ROOTFS_KEY.tar.zst"
if [ ! -f "$ROOTFS_TAR" ]; then
  log "debootstrap $SUITE (cache miss: $ROOTFS_TAR)"
  STAGE="$WORK/stage"
  # The kernel goes in second, after update-initramfs is diverted: its postinst would build a
  # Debian initramfs we never use (slow, and the initramfs here is the whole system).
  OTHERS=$(printf '%s\n' "${PACKAGES[@]}" | grep -vx linux-image-amd64 | paste -sd, -)
  debootstrap --variant=minbase --include="$OTHERS" "$SUITE" "$STAGE" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -40 "$WORK/debootstrap.log" >&2; exit 1; }
  chroot "$STAGE" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs
  ln -sf /bin/true "$STAGE/usr/sbin/update-initramfs"
  chroot "$STAGE" env DEBIAN_FRONTEND=noninteractive apt-get -q update >"$WORK/apt.log" 2>&1
  chroot "$STAGE" env DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends install linux-image-amd64 >>"$WORK/apt.log" 2>&1 ||
    { tail -40 "$WORK/apt.log" >&2; exit 1; }
  chroot "$STAGE" apt-get clean
  tar --numeric-owner --xattrs -C "$STAGE" -cf - . | zstd -q -T0 -o "$ROOTFS_TAR.partial"
  mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
  rm -rf "$STAGE"
else
  log "rootfs from cache: $ROOTFS_TAR"
fi
mkdir -p "$ROOT"
zstd -q -d -c "$ROOTFS_TAR" | tar --numeric-owner --xattrs -C "$ROOT" -xf -

# --- 2. customise: boot script, trimmed kernel modules, nothing machine-specific -----------------
KVER=$(basename "$(ls -d "$ROOT"/lib/modules/* | head -1)")
log "kernel $KVER"
cp "$ROOT/boot/vmlinuz-$KVER" "$WORK/vmlinuz"

install -m 0755 "$HERE/files/init" "$ROOT/init"
install -D -m 0755 "$HERE/files/udhcpc.script" "$ROOT/usr/lib/xspectre-recovery/udhcpc.script"
if [ -n "$AGENT" ]; then
  # /init starts /usr/local/bin/xspectre-recovery: a two-line wrapper exec-ing `xspectre-agent recovery run`.
  install -D -m 0755 "$AGENT" "$ROOT/usr/local/bin/xspectre-agent"
  install -D -m 0755 "$HERE/files/xspectre-recovery" "$ROOT/usr/local/bin/xspectre-recovery"
  log "agent $AGENT_VERSION build ${AGENT_BUILD_ID:0:16} sha256 ${AGENT_SHA256:0:16} ($((AGENT_BYTES / 1048576)) MiB)"
fi
echo xspectre-recovery >"$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\txspectre-recovery\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"

# Modules a server's recovery needs, kept by name: storage (ATA, SCSI/SAS HBAs, NVMe, MD, USB mass
# storage), wired NICs (+ PHYs), USB host controllers and keyboards, virtio (VMs), file systems,
# WireGuard, crypto. Graphics, sound, wireless, media, bluetooth and the rest go (about 85% of
# the size, and the initramfs is the whole system in RAM).
MODDIR="$ROOT/lib/modules/$KVER/kernel"
KEEP_DRIVERS="acpi ata base block cdrom char dca dma firmware hid i2c input md message net nvme pci pps ptp scsi tty usb virtio"
for d in "$MODDIR"/drivers/*; do
  case " $KEEP_DRIVERS " in *" $(basename "$d") "*) ;; *) rm -rf "$d" ;; esac
done
for d in drivers/net/wireless drivers/net/can drivers/net/hamradio drivers/net/ieee802154 drivers/net/wwan \
  drivers/net/wan drivers/net/arcnet drivers/net/fddi drivers/net/plip drivers/net/ppp drivers/net/slip \
  drivers/net/hyperv drivers/net/xen-netback drivers/net/ipa drivers/net/fjes drivers/net/thunderbolt \
  drivers/net/dsa drivers/net/ethernet/mellanox/mlxsw drivers/usb/gadget drivers/usb/serial drivers/usb/misc \
  drivers/usb/atm drivers/usb/image drivers/usb/typec drivers/usb/usbip drivers/usb/musb drivers/input/touchscreen \
  drivers/input/joystick drivers/input/tablet drivers/input/misc drivers/char/tpm drivers/char/ipmi drivers/i2c/busses \
  drivers/message/fusion/mptlan.ko drivers/scsi/fcoe drivers/scsi/qedf drivers/scsi/libfc \
  sound net/wireless net/mac80211 net/bluetooth net/nfc net/ieee802154 net/mac802154 net/can net/sunrpc \
  net/ceph net/rxrpc net/atm net/dsa net/l2tp net/batman-adv net/9p net/openvswitch net/netfilter \
  fs/nfs fs/nfsd fs/nfs_common fs/lockd fs/ocfs2 fs/gfs2 fs/ceph fs/smb fs/cifs fs/afs fs/coda fs/ubifs \
  fs/jffs2 fs/orangefs fs/9p fs/dlm fs/erofs fs/f2fs fs/nilfs2 fs/ntfs3 fs/reiserfs fs/ufs \
  arch/x86/kvm; do
  rm -rf "${MODDIR:?}/$d"
done
chroot "$ROOT" depmod "$KVER"

rm -rf "${ROOT:?}"/boot/* "${ROOT:?}"/usr/share/doc/* "${ROOT:?}"/usr/share/man/* "${ROOT:?}"/usr/share/info/* \
  "${ROOT:?}"/usr/share/locale/* "${ROOT:?}"/usr/share/lintian "${ROOT:?}"/usr/share/bash-completion \
  "${ROOT:?}"/var/lib/apt/lists/* "${ROOT:?}"/var/cache/apt/* "${ROOT:?}"/var/cache/debconf/*-old \
  "${ROOT:?}"/var/cache/ldconfig/aux-cache "${ROOT:?}"/var/lib/dpkg/*-old "${ROOT:?}"/var/log/* \
  "${ROOT:?}"/etc/machine-id "${ROOT:?}"/var/lib/dbus/machine-id "${ROOT:?}"/etc/ssh/ssh_host_* \
  "${ROOT:?}"/vmlinuz* "${ROOT:?}"/initrd.img* "${ROOT:?}"/tmp/* "${ROOT:?}"/root/.bash_history
# openssh-server's postinst generated host keys: none may be left (each stick's sshd makes its own).
LEFT_KEYS=$(find "$ROOT" -xdev -name 'ssh_host_*key*' | head -5)
[ -z "$LEFT_KEYS" ] || { echo "SSH host keys left in the root: $LEFT_KEYS" >&2; exit 1; }
# Password ages count days since the epoch: pin them to the recipe date, not the build day.
sed -i -E "s/^([^:]*:[^:]*:)[0-9]+:/\1$((SOURCE_DATE_EPOCH / 86400)):/" "$ROOT/etc/shadow"

# Package manifest (exact versions), inside the system and beside the image.
dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f '${Package}\t${Version}\t${Architecture}\n' | LC_ALL=C sort >"$WORK/packages.tsv"
packages_json() {
  awk -F'\t' 'BEGIN { printf "[" } { printf "%s\n    {\"name\": \"%s\", \"version\": \"%s\", \"arch\": \"%s\"}", (NR > 1 ? "," : ""), $1, $2, $3 } END { printf "\n  ]" }' "$WORK/packages.tsv"
}
write_manifest() { # $1 = image size in bytes, or "" inside the system (its own size is not known yet)
  {
    printf '{\n  "name": "xspectre-recovery",\n  "suite": "%s",\n  "mirror": "%s",\n' "$SUITE" "$MIRROR"
    printf '  "recipeHash": "%s",\n  "rootfsKey": "%s",\n  "sourceDateEpoch": %s,\n' "$RECIPE_HASH" "$ROOTFS_KEY" "$SOURCE_DATE_EPOCH"
    printf '  "kernel": "%s",\n' "$KVER"
    if [ -n "$AGENT" ]; then
      printf '  "agent": {"version": "%s", "buildId": "%s", "sha256": "%s", "sizeBytes": %s},\n' \
        "$AGENT_VERSION" "$AGENT_BUILD_ID" "$AGENT_SHA256" "$AGENT_BYTES"
    else
      printf '  "agent": null,\n'
    fi
    [ -n "$1" ] && printf '  "imageSizeBytes": %s,\n' "$1"
    printf '  "packages": '
    packages_json
    printf '\n}\n'
  }
}
mkdir -p "$ROOT/etc/xspectre-recovery"
write_manifest "" >"$ROOT/etc/xspectre-recovery/manifest.json"

# --- 3. initramfs: sorted, clamped, owner-preserving newc cpio, zstd ----------------------------
log "initramfs"
find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$ROOT" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --quiet --null -o -H newc --reproducible) |
  zstd -q -T0 -15 -o "$WORK/initrd.img"
ROOT_MB=$(du -sm "$ROOT" | cut -f1)
rm -rf "$ROOT"

# --- 4. boot loaders ---------------------------------------------------------------------------
SYS_SERIAL=$(fat_serial system)
SYS_UUID="${SYS_SERIAL:0:4}-${SYS_SERIAL:4:4}"
SYS_UUID="${SYS_UUID^^}"
# GRUB's embedded config finds the system partition by its FAT serial (not by disk number: on a
# real machine the stick is rarely the first disk), then reads its grub.cfg.
cat >"$WORK/early.cfg" <<EOF
search --no-floppy --fs-uuid --set=root $SYS_UUID
set prefix=(\$root)/boot/grub
configfile (\$root)/boot/grub/grub.cfg
EOF
cat >"$WORK/grub.cfg" <<'EOF'
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set timeout=1
menuentry 'xSPECTRE recovery' {
  echo 'Loading the xSPECTRE recovery system ...'
  linux /boot/vmlinuz console=tty0 console=ttyS0,115200n8 loglevel=4 panic=30
  initrd /boot/initrd.img
}
EOF
COMMON_MODS=(part_gpt part_msdos fat search search_fs_uuid configfile normal linux echo serial terminal test boot)
grub-mkimage -O i386-pc -o "$WORK/core.img" -c "$WORK/early.cfg" -p /boot/grub "${COMMON_MODS[@]}" biosdisk
grub-mkimage -O x86_64-efi -o "$WORK/BOOTX64.EFI" -c "$WORK/early.cfg" -p /boot/grub "${COMMON_MODS[@]}" efi_gop efi_uga

# --- 5. partitions ------------------------------------------------------------------------------
MiB=1048576
mib_of() { echo $((($(stat -c %s "$1") + MiB - 1) / MiB)); }
BIOS_MB=1
ESP_MB=64
SYS_MB=$(($(mib_of "$WORK/vmlinuz") + $(mib_of "$WORK/initrd.img") + 16))
[ "$SYS_MB" -ge 64 ] || SYS_MB=64
CFG_MB=16
P1=1                      # BIOS boot partition starts at 1 MiB
P2=$((P1 + BIOS_MB))
P3=$((P2 + ESP_MB))
P4=$((P3 + SYS_MB))
END=$((P4 + CFG_MB))
IMG_MB=$((END + 1))       # + 1 MiB for the backup GPT
IMG_BYTES=$((IMG_MB * MiB))

stamp() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }
fatfs() { # image size_mb label serial srcdir
  # FAT32 with 512-byte clusters where it fits 65525 clusters (ESP, system); FAT16 for the small CONFIG.
  local fat=(-F 32 -s 1)
  [ "$2" -ge 64 ] || fat=(-F 16)
  mkfs.fat -C --invariant "${fat[@]}" -i "$4" -n "$3" "$1" $(($2 * 1024)) >/dev/null
  stamp "$5"
  (cd "$5" && mcopy -s -m -i "$1" ./* ::/)
}

mkdir -p "$WORK/esp/EFI/BOOT" "$WORK/sys/boot/grub" "$WORK/cfg"
cp "$WORK/BOOTX64.EFI" "$WORK/esp/EFI/BOOT/BOOTX64.EFI"
cp "$WORK/vmlinuz" "$WORK/sys/boot/vmlinuz"
cp "$WORK/initrd.img" "$WORK/sys/boot/initrd.img"
cp "$WORK/grub.cfg" "$WORK/sys/boot/grub/grub.cfg"
write_manifest "$IMG_BYTES" >"$WORK/manifest.json"
cp "$WORK/manifest.json" "$WORK/sys/manifest.json"
cp "$HERE/files/recovery.conf.example" "$WORK/cfg/recovery.conf.example"
cp "$HERE/files/recovery.conf.example" "$WORK/cfg/recovery.conf"

fatfs "$WORK/esp.img" "$ESP_MB" XS-EFI "$(fat_serial esp)" "$WORK/esp"
fatfs "$WORK/sys.img" "$SYS_MB" XS-RECOVERY "$SYS_SERIAL" "$WORK/sys"
# The CONFIG partition: FAT so personalisation rewrites it without root (mtools) and any OS can
# read it; a FAT label holds 11 characters, so XS-RECOVERY-CFG is the GPT partition name.
fatfs "$WORK/cfg.img" "$CFG_MB" XSRECOVCFG "$(fat_serial config)" "$WORK/cfg"

# --- 6. disk: GPT + protective MBR, GRUB boot code, partitions at their offsets -----------------
log "disk image ${IMG_MB} MiB"
IMG="$WORK/xspectre-recovery.img"
truncate -s "$IMG_BYTES" "$IMG"
sgdisk --clear --disk-guid="$(guid disk)" \
  -n 1:${P1}M:+${BIOS_MB}M -t 1:EF02 -c 1:BIOS-BOOT -u "1:$(guid p1)" \
  -n 2:${P2}M:+${ESP_MB}M -t 2:EF00 -c 2:EFI -u "2:$(guid p2)" \
  -n 3:${P3}M:+${SYS_MB}M -t 3:0700 -c 3:XS-RECOVERY -u "3:$(guid p3)" \
  -n 4:${P4}M:+${CFG_MB}M -t 4:0700 -c 4:XS-RECOVERY-CFG -u "4:$(guid p4)" \
  "$IMG" >"$WORK/sgdisk.log" 2>&1 || { cat "$WORK/sgdisk.log" >&2; exit 1; }
put() { dd if="$1" of="$IMG" bs=1M seek="$2" conv=notrunc status=none; }
put "$WORK/esp.img" "$P2"
put "$WORK/sys.img" "$P3"
put "$WORK/cfg.img" "$P4"
# Legacy BIOS: what grub-install would do, by hand (no block device needed). boot.img's first 440
# bytes go into the MBR (the partition table stays); its 64-bit "kernel sector" field (offset 0x5c)
# points at core.img in the BIOS boot partition; core.img's first sector (diskboot) ends with a
# block list {u64 start, u16 count, u16 segment} loading the rest of core.img.
CORE_LBA=$((P1 * MiB / 512))
CORE_SECTORS=$((($(stat -c %s "$WORK/core.img") + 511) / 512))
[ "$CORE_SECTORS" -le $((BIOS_MB * MiB / 512)) ] || { echo "core.img does not fit the BIOS boot partition" >&2; exit 1; }
le() { # value bytes -> raw little-endian bytes on stdout
  local v=$1 n=$2 i out=""
  for ((i = 0; i < n; i++)); do out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255))); done
  # shellcheck disable=SC2059 # the format is the escaped bytes built above
  printf "$out"
}
cp "$WORK/core.img" "$WORK/core.patched"
{ le $((CORE_LBA + 1)) 8; le $((CORE_SECTORS - 1)) 2; } | dd of="$WORK/core.patched" bs=1 seek=500 conv=notrunc status=none
cp /usr/lib/grub/i386-pc/boot.img "$WORK/boot.img"
le "$CORE_LBA" 8 | dd of="$WORK/boot.img" bs=1 seek=$((0x5c)) conv=notrunc status=none
dd if="$WORK/boot.img" of="$IMG" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/core.patched" of="$IMG" bs=512 seek="$CORE_LBA" conv=notrunc status=none

mv "$IMG" "$OUT/xspectre-recovery.img"
cp "$WORK/manifest.json" "$OUT/manifest.json"
(cd "$OUT" && sha256sum xspectre-recovery.img manifest.json >SHA256SUMS)
log "done: $OUT/xspectre-recovery.img ${IMG_MB} MiB (kernel $(mib_of "$WORK/vmlinuz") MiB, initramfs $(mib_of "$WORK/initrd.img") MiB compressed, ${ROOT_MB} MiB in RAM), $((${#PACKAGES[@]})) listed packages, recipe ${RECIPE_HASH:0:16}"
log "sha256 $(cut -d' ' -f1 "$OUT/SHA256SUMS" | head -1)"
