import { access } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-file.js';
import { errorMessage, printable } from '../errors.js';
import type { RunFn } from './diagnostics.js';
import type { ProcessResult } from './run-process.js';
import { runProcess } from './run-process.js';

/**
 * `reboot-to-recovery` (issue 16): arm a ONE-TIME boot to the recovery stick left in the device
 * (recovery-usb/README.md, Disk layout) and reboot. Never the boot order: a recovery boot that
 * fails falls back to the main disk, and a device whose main disk fails reaches the stick by
 * the firmware's own order.
 *
 * - UEFI (`efibootmgr` works): a boot entry whose device path carries the stick's EFI partition
 *   PARTUUID, else one created with `efibootmgr --create-only` (BootOrder untouched), then
 *   `efibootmgr --bootnext XXXX`.
 * - BIOS with GRUB: /etc/grub.d/42_xspectre_recovery (a menu entry that finds the stick's system
 *   partition by its FAT label and runs the stick's own grub.cfg), `update-grub`, then
 *   `grub-reboot 'xSPECTRE Recovery'`.
 *
 * Arming needs the block devices, /etc, /boot and the EFI variables, which the agent's sandbox
 * hides or mounts read-only (agent/systemd/xspectre-agent.service): the executor runs
 * `xspectre-agent recovery-boot` as the command's transient unit (PID 1, outside the sandbox), and
 * that process arms, then reboots with `systemctl reboot` as the `reboot` action does. Its
 * stdout (which stick, which entry, which path) is the command's output.
 */
export const REBOOT_TO_RECOVERY = 'reboot-to-recovery';
export const RECOVERY_ENTRY_LABEL = 'xSPECTRE Recovery';
/** The removable-media path on the stick's EFI partition (recovery-usb/build.sh). */
export const RECOVERY_LOADER = '\\EFI\\BOOT\\BOOTX64.EFI';
/** GPT partition names of the stick (recovery-usb/build.sh: sgdisk -c). */
export const STICK_SYSTEM_PARTLABEL = 'XS-RECOVERY';
export const STICK_EFI_PARTLABEL = 'EFI';
/** The FAT label of the stick's system partition, which GRUB searches for. */
export const STICK_SYSTEM_FS_LABEL = 'XS-RECOVERY';
export const GRUB_SCRIPT_PATH = '/etc/grub.d/42_xspectre_recovery';
export const LSBLK_ARGS = ['--json', '--bytes', '-o', 'NAME,PATH,TYPE,PKNAME,PARTLABEL,LABEL,PARTUUID,RM,SIZE'] as const;

const TOOL_TIMEOUT_MS = 60_000;
/** update-grub runs os-prober and every /etc/grub.d script: give it longer. */
const GRUB_MKCONFIG_TIMEOUT_MS = 5 * 60_000;
const TOOL_MAX_BYTES = 1024 * 1024;
const MAX_LINES = 4096;

// ---------------------------------------------------------------------------------------------
// lsblk

export interface BlockDevice {
  name: string;
  path: string;
  type: string;
  pkname: string | null;
  partlabel: string | null;
  label: string | null;
  partuuid: string | null;
  removable: boolean;
  sizeBytes: number | null;
}

const text = (value: unknown, max = 256): string | null => (typeof value === 'string' && value.length <= max ? value : null);
const DEVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const DEVICE_PATH = /^\/dev\/[A-Za-z0-9_./:-]{1,200}$/;

/**
 * `lsblk --json` (LSBLK_ARGS), tree or flat, flattened. Entries without a usable name or path are
 * dropped (never guessed); a body that is not lsblk's JSON throws.
 */
export function parseLsblk(json: string): BlockDevice[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error('lsblk did not print JSON');
  }
  const top = (parsed as { blockdevices?: unknown } | null)?.blockdevices;
  if (!Array.isArray(top)) throw new Error('lsblk printed no blockdevices list');
  const out: BlockDevice[] = [];
  const visit = (items: unknown[], parent: string | null, depth: number) => {
    for (const item of items) {
      if (out.length >= MAX_LINES || depth > 8 || typeof item !== 'object' || item === null) continue;
      const raw = item as Record<string, unknown>;
      const name = text(raw.name, 64);
      const path = text(raw.path, 210);
      if (name && path && DEVICE_NAME.test(name) && DEVICE_PATH.test(path)) {
        const rm = raw.rm;
        const size = typeof raw.size === 'number' ? raw.size : typeof raw.size === 'string' ? Number(raw.size) : NaN;
        out.push({
          name,
          path,
          type: text(raw.type, 32) ?? '',
          pkname: text(raw.pkname, 64) ?? parent,
          partlabel: text(raw.partlabel),
          label: text(raw.label),
          partuuid: text(raw.partuuid, 64)?.toLowerCase() ?? null,
          removable: rm === true || rm === 1 || rm === '1',
          sizeBytes: Number.isSafeInteger(size) && size >= 0 ? size : null,
        });
      }
      if (Array.isArray(raw.children)) visit(raw.children, name, depth + 1);
    }
  };
  visit(top, null, 0);
  return out;
}

export interface RecoveryStick {
  disk: { name: string; path: string; removable: boolean };
  efi: { name: string; path: string; partNumber: number; partuuid: string | null };
  system: { name: string; path: string };
}

/** `sdb2` of `sdb` → 2, `nvme0n1p2` of `nvme0n1` → 2, `mmcblk0p1` of `mmcblk0` → 1. */
export function partitionNumber(diskName: string, partName: string): number | null {
  if (!partName.startsWith(diskName)) return null;
  const match = /^p?([1-9][0-9]{0,3})$/.exec(partName.slice(diskName.length));
  return match ? Number(match[1]) : null;
}

export type StickLookup = { ok: true; stick: RecoveryStick } | { ok: false; reason: string };

/** The one disk with a partition named XS-RECOVERY (system) and one named EFI. */
export function findRecoveryStick(devices: readonly BlockDevice[]): StickLookup {
  const found: RecoveryStick[] = [];
  const problems: string[] = [];
  for (const disk of devices.filter((d) => d.type === 'disk')) {
    const parts = devices.filter((d) => d.type === 'part' && d.pkname === disk.name);
    const system = parts.filter((p) => p.partlabel === STICK_SYSTEM_PARTLABEL);
    if (system.length === 0) continue;
    const efi = parts.filter((p) => p.partlabel === STICK_EFI_PARTLABEL);
    if (system.length > 1 || efi.length !== 1) {
      problems.push(`${disk.name} has ${system.length} ${STICK_SYSTEM_PARTLABEL} and ${efi.length} ${STICK_EFI_PARTLABEL} partitions`);
      continue;
    }
    const number = partitionNumber(disk.name, efi[0]!.name);
    if (number === null) {
      problems.push(`cannot tell the partition number of ${efi[0]!.name}`);
      continue;
    }
    found.push({
      disk: { name: disk.name, path: disk.path, removable: disk.removable },
      efi: { name: efi[0]!.name, path: efi[0]!.path, partNumber: number, partuuid: efi[0]!.partuuid },
      system: { name: system[0]!.name, path: system[0]!.path },
    });
  }
  if (found.length === 1) return { ok: true, stick: found[0]! };
  if (found.length > 1)
    return { ok: false, reason: `more than one recovery stick: ${found.map((s) => s.disk.path).join(', ')}; leave only one in the device` };
  const disks = devices.filter((d) => d.type === 'disk').map((d) => d.name);
  return {
    ok: false,
    reason:
      `no recovery stick found: no disk has a partition named ${STICK_SYSTEM_PARTLABEL} and one named ${STICK_EFI_PARTLABEL}` +
      ` (disks: ${disks.join(', ') || 'none'}${problems.length ? `; ${problems.join('; ')}` : ''})`,
  };
}

// ---------------------------------------------------------------------------------------------
// efibootmgr

export interface EfiBootEntry {
  /** Four upper-case hex digits. */
  num: string;
  active: boolean;
  label: string;
  /** Lower-case PARTUUIDs of every `HD(n,GPT,uuid,...)` node in its device path. */
  partuuids: string[];
}

export interface EfiBootState {
  bootNext: string | null;
  bootOrder: string[];
  entries: EfiBootEntry[];
}

const HD_GPT = /HD\(\s*\d+\s*,\s*GPT\s*,\s*([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\s*,/g;

/**
 * `efibootmgr -v` (Debian 12's efibootmgr 17: `Boot0003* Label<TAB>HD(2,GPT,uuid,…)/File(\…)`;
 * efibootmgr 18 drops `File(…)` and may add `dp:` lines). Lines it does not know are skipped.
 */
export function parseEfibootmgr(output: string): EfiBootState {
  const state: EfiBootState = { bootNext: null, bootOrder: [], entries: [] };
  for (const line of output.split('\n').slice(0, MAX_LINES)) {
    const l = line.replace(/\r$/, '');
    const next = /^BootNext:\s*([0-9A-Fa-f]{4})\s*$/.exec(l);
    if (next) state.bootNext = next[1]!.toUpperCase();
    const order = /^BootOrder:\s*([0-9A-Fa-f]{4}(?:\s*,\s*[0-9A-Fa-f]{4}){0,255})\s*$/.exec(l);
    if (order) state.bootOrder = order[1]!.split(',').map((n) => n.trim().toUpperCase());
    const entry = /^Boot([0-9A-Fa-f]{4})(\*?)\s?(.*)$/.exec(l);
    if (!entry) continue;
    const rest = entry[3]!.slice(0, 8192);
    const tab = rest.indexOf('\t');
    const dp = rest.search(/\b(HD|PciRoot|Pci|Acpi|VenHw|VenMsg|BBS|FvVol|FvFile|USB|Sata|Scsi|NVMe|MAC|Uri)\(/);
    const labelEnd = tab >= 0 ? tab : dp >= 0 ? dp : rest.length;
    const partuuids = [...rest.matchAll(HD_GPT)].map((m) => m[1]!.toLowerCase());
    state.entries.push({
      num: entry[1]!.toUpperCase(),
      active: entry[2] === '*',
      label: printable(rest.slice(0, labelEnd), 80),
      partuuids,
    });
  }
  return state;
}

/** The entry to boot next: one that points at the stick's EFI partition, active ones first. */
export function pickEfiEntry(state: EfiBootState, partuuid: string): EfiBootEntry | null {
  const matching = state.entries.filter((e) => e.partuuids.includes(partuuid.toLowerCase()));
  return matching.find((e) => e.active) ?? matching[0] ?? null;
}

export function efiCreateArgs(stick: RecoveryStick): string[] {
  return [
    '--create-only',
    '--disk',
    stick.disk.path,
    '--part',
    String(stick.efi.partNumber),
    '--label',
    RECOVERY_ENTRY_LABEL,
    '--loader',
    RECOVERY_LOADER,
  ];
}

// ---------------------------------------------------------------------------------------------
// GRUB (legacy BIOS)

/**
 * /etc/grub.d/42_xspectre_recovery: update-grub runs it and copies what it prints into
 * /boot/grub/grub.cfg (the `exec tail` idiom of Debian's own 40_custom). The entry finds the
 * stick's system partition by its FAT label and hands over to the stick's own grub.cfg, so the
 * kernel, initramfs and kernel arguments are always those of the stick in the port (a stick
 * flashed with a newer image needs no new entry), and nothing is read from the stick to arm it.
 */
export const GRUB_SCRIPT = `#!/bin/sh
exec tail -n +4 "$0"
# Written by the xSPECTRE agent (reboot-to-recovery, agent/src/commands/recovery-boot.ts); booted once via grub-reboot.
menuentry '${RECOVERY_ENTRY_LABEL}' --id xspectre-recovery {
	insmod part_gpt
	insmod part_msdos
	insmod fat
	insmod search_label
	search --no-floppy --label --set=root ${STICK_SYSTEM_FS_LABEL}
	set prefix=($root)/boot/grub
	configfile ($root)/boot/grub/grub.cfg
}
`;

// ---------------------------------------------------------------------------------------------
// Arming

export interface RecoveryBootHost {
  run: RunFn;
  exists: (path: string) => Promise<boolean>;
  writeFile: (path: string, content: string, mode: number) => Promise<void>;
}

export type Firmware = 'uefi' | 'bios';
export type ArmResult = { ok: true; firmware: Firmware; lines: string[] } | { ok: false; reason: string; lines: string[] };

const NOT_SUPPORTED = /EFI variables are not supported/i;

function status(r: ProcessResult): string {
  return r.error ?? (r.code === 0 ? 'exit 0' : r.signal ? `signal ${r.signal}` : `exit ${r.code}`);
}
const firstLine = (r: ProcessResult) => printable(r.stderr.toString('utf8') || r.stdout.toString('utf8'), 300);
const ok = (r: ProcessResult) => !r.error && r.code === 0;

export async function armRecoveryBoot(host: RecoveryBootHost): Promise<ArmResult> {
  const lines: string[] = [];
  const fail = (reason: string): ArmResult => ({ ok: false, reason, lines });
  const run = (file: string, args: readonly string[], timeoutMs = TOOL_TIMEOUT_MS) =>
    host.run(file, args, { timeoutMs, maxBytes: TOOL_MAX_BYTES });

  // 1. The stick.
  const listed = await run('lsblk', LSBLK_ARGS);
  if (!ok(listed)) return fail(`cannot list the block devices: lsblk ${status(listed)}: ${firstLine(listed)}`);
  let devices: BlockDevice[];
  try {
    devices = parseLsblk(listed.stdout.toString('utf8'));
  } catch (err) {
    return fail(errorMessage(err));
  }
  const lookup = findRecoveryStick(devices);
  if (!lookup.ok) return fail(lookup.reason);
  const { stick } = lookup;
  lines.push(
    `recovery stick: ${stick.disk.path}${stick.disk.removable ? ' (removable)' : ''}, EFI partition ${stick.efi.path}` +
      ` (number ${stick.efi.partNumber}, PARTUUID ${stick.efi.partuuid ?? 'unknown'}), system partition ${stick.system.path}`,
  );

  // 2. The firmware: efibootmgr answers on UEFI, and says the EFI variables are not supported on BIOS.
  const efi = await run('efibootmgr', ['-v']);
  let firmware: Firmware;
  if (ok(efi)) firmware = 'uefi';
  else if (NOT_SUPPORTED.test(efi.stderr.toString('utf8')) || NOT_SUPPORTED.test(efi.stdout.toString('utf8'))) firmware = 'bios';
  else if (efi.error?.endsWith('is not installed') && !(await host.exists('/sys/firmware/efi'))) firmware = 'bios';
  else return fail(`cannot read the UEFI boot entries: efibootmgr ${status(efi)}: ${firstLine(efi)}`);
  lines.push(`firmware: ${firmware === 'uefi' ? 'UEFI' : 'legacy BIOS'}`);

  if (firmware === 'uefi') {
    const before = parseEfibootmgr(efi.stdout.toString('utf8'));
    if (!stick.efi.partuuid) return fail(`the stick's EFI partition ${stick.efi.path} has no PARTUUID`);
    let entry = pickEfiEntry(before, stick.efi.partuuid);
    if (entry) {
      lines.push(`boot entry: Boot${entry.num} "${entry.label}" (existing${entry.active ? '' : ', inactive'})`);
    } else {
      const args = efiCreateArgs(stick);
      const created = await run('efibootmgr', args);
      if (!ok(created)) return fail(`cannot create the boot entry: efibootmgr ${status(created)}: ${firstLine(created)}`);
      const again = await run('efibootmgr', ['-v']);
      if (!ok(again)) return fail(`cannot read the UEFI boot entries: efibootmgr ${status(again)}: ${firstLine(again)}`);
      entry = pickEfiEntry(parseEfibootmgr(again.stdout.toString('utf8')), stick.efi.partuuid);
      if (!entry) return fail(`efibootmgr created no entry for PARTUUID ${stick.efi.partuuid}`);
      lines.push(`boot entry: Boot${entry.num} "${entry.label}" (created: efibootmgr ${args.join(' ')})`);
    }
    if (!entry.active) {
      // BootNext of an inactive option is skipped by some firmware: activate it (BootOrder stays as it is).
      const activated = await run('efibootmgr', ['--bootnum', entry.num, '--active']);
      if (!ok(activated)) return fail(`cannot activate Boot${entry.num}: efibootmgr ${status(activated)}: ${firstLine(activated)}`);
    }
    const next = await run('efibootmgr', ['--bootnext', entry.num]);
    if (!ok(next)) return fail(`cannot set BootNext: efibootmgr ${status(next)}: ${firstLine(next)}`);
    const after = parseEfibootmgr(next.stdout.toString('utf8'));
    if (after.bootNext !== null && after.bootNext !== entry.num) return fail(`BootNext is ${after.bootNext}, not ${entry.num}`);
    lines.push(`one-time boot: BootNext=${entry.num}; BootOrder unchanged (${before.bootOrder.join(',') || 'empty'})`);
    return { ok: true, firmware, lines };
  }

  // 3. BIOS with GRUB.
  try {
    await host.writeFile(GRUB_SCRIPT_PATH, GRUB_SCRIPT, 0o755);
  } catch (err) {
    return fail(`cannot write ${GRUB_SCRIPT_PATH}: ${printable(errorMessage(err), 300)}`);
  }
  lines.push(`GRUB: wrote ${GRUB_SCRIPT_PATH} (menu entry "${RECOVERY_ENTRY_LABEL}", search --label ${STICK_SYSTEM_FS_LABEL})`);
  let mkconfig = await run('update-grub', [], GRUB_MKCONFIG_TIMEOUT_MS);
  let how = 'update-grub';
  if (mkconfig.error?.endsWith('is not installed')) {
    how = 'grub-mkconfig -o /boot/grub/grub.cfg';
    mkconfig = await run('grub-mkconfig', ['-o', '/boot/grub/grub.cfg'], GRUB_MKCONFIG_TIMEOUT_MS);
  }
  if (!ok(mkconfig)) return fail(`cannot regenerate the GRUB menu: ${how} ${status(mkconfig)}: ${firstLine(mkconfig)}`);
  lines.push(`GRUB: ${how} done`);
  const once = await run('grub-reboot', [RECOVERY_ENTRY_LABEL]);
  if (!ok(once)) return fail(`cannot set the one-time GRUB entry: grub-reboot ${status(once)}: ${firstLine(once)}`);
  lines.push(`one-time boot: grub-reboot '${RECOVERY_ENTRY_LABEL}' (the default entry is unchanged)`);
  return { ok: true, firmware, lines };
}

export function hostRecoveryBootHost(): RecoveryBootHost {
  return {
    run: runProcess,
    exists: (path) =>
      access(path).then(
        () => true,
        () => false,
      ),
    writeFile: (path, content, mode) => writeFileAtomic(path, content, mode),
  };
}

/**
 * `xspectre-agent recovery-boot`: what the command's transient unit runs (as root, outside the
 * sandbox). Arms the one-time boot, then `systemctl reboot`. Exit 0 once the reboot is queued;
 * 1 with the reason on stderr (nothing rebooted) when the stick or the boot loader is not right.
 */
export async function recoveryBootCommand(
  args: readonly string[],
  out: { stdout: (t: string) => void; stderr: (t: string) => void },
  host: RecoveryBootHost = hostRecoveryBootHost(),
): Promise<number> {
  if (args.length > 0) {
    out.stderr(`xspectre-agent: recovery-boot takes no arguments\n`);
    return 2;
  }
  const armed = await armRecoveryBoot(host);
  for (const line of armed.lines) out.stdout(`${line}\n`);
  if (!armed.ok) {
    out.stderr(`${armed.reason}\n`);
    return 1;
  }
  const reboot = await host.run('systemctl', ['reboot'], { timeoutMs: TOOL_TIMEOUT_MS, maxBytes: TOOL_MAX_BYTES });
  if (!ok(reboot)) {
    out.stderr(`armed, but systemctl reboot failed: ${status(reboot)}: ${firstLine(reboot)}\n`);
    return 1;
  }
  out.stdout('rebooting (systemctl reboot)\n');
  return 0;
}
