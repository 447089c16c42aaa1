import { access, readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RecoveryHardwareSchema, type RecoveryDisk, type RecoveryHardware } from '@xspectre/contracts';

/**
 * What the recovery stick reports at registration (RecoveryHardwareSchema): disks from
 * `/sys/block`, wired NICs from `/sys/class/net`, firmware, CPU and memory. The roots are
 * parameters so tests read a fixture tree. Everything read is bounded and made printable.
 */
export interface HardwareRoots {
  sys: string;
  proc: string;
}
export const SYSTEM_ROOTS: HardwareRoots = { sys: '/sys', proc: '/proc' };

/** Not disks: loop devices, RAM disks, zram, optical drives, floppies. */
const NOT_A_DISK = /^(loop|ram|zram|sr|fd)\d*$/;
const DISK_NAME = /^[a-z][a-z0-9]{0,31}$/;

async function readText(path: string, max = 4096): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).slice(0, max);
  } catch {
    return null;
  }
}

/** Printable, trimmed, 1..max characters, or null. */
export function deviceText(value: string | null, max: number): string | null {
  if (value === null) return null;
  const text = value
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max);
  return text === '' ? null : text;
}

export async function readDisks(roots: HardwareRoots, stick: string | null): Promise<RecoveryDisk[]> {
  let names: string[];
  try {
    names = await readdir(join(roots.sys, 'block'));
  } catch {
    return [];
  }
  const disks: RecoveryDisk[] = [];
  for (const name of names.sort()) {
    if (NOT_A_DISK.test(name) || !DISK_NAME.test(name) || disks.length >= 64) continue;
    const dir = join(roots.sys, 'block', name);
    const sectors = Number((await readText(join(dir, 'size')))?.trim());
    if (!Number.isSafeInteger(sectors) || sectors <= 0) continue; // an empty card reader
    const sizeBytes = sectors * 512; // /sys/block/*/size counts 512-byte sectors whatever the logical block size
    if (!Number.isSafeInteger(sizeBytes)) continue;
    disks.push({
      name,
      sizeBytes,
      model: deviceText(await readText(join(dir, 'device', 'model')), 128),
      serial: deviceText(await readText(join(dir, 'device', 'serial')), 128),
      removable: (await readText(join(dir, 'removable')))?.trim() === '1',
      rotational: (await readText(join(dir, 'queue', 'rotational')))?.trim() === '1',
      role: name === stick ? 'recovery-stick' : 'target',
    });
  }
  return disks;
}

export async function readNics(roots: HardwareRoots): Promise<RecoveryHardware['nics']> {
  let names: string[];
  try {
    names = await readdir(join(roots.sys, 'class', 'net'));
  } catch {
    return [];
  }
  const nics: RecoveryHardware['nics'] = [];
  for (const name of names.sort()) {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name) || nics.length >= 64) continue;
    const dir = join(roots.sys, 'class', 'net', name);
    // Hardware only: a NIC has a `device` (lo, bridges, tunnels do not).
    try {
      await access(join(dir, 'device'));
    } catch {
      continue;
    }
    const mac = (await readText(join(dir, 'address')))?.trim().toLowerCase() ?? '';
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) continue;
    let driver: string | null;
    try {
      driver = deviceText(basename(await readlink(join(dir, 'device', 'driver'))), 64);
    } catch {
      driver = null;
    }
    nics.push({ name, mac, driver });
  }
  return nics;
}

/** `/proc/cpuinfo` → the first model name and the processor count. */
export function parseCpuinfo(text: string): { cpuModel: string | null; cpus: number } {
  const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1] ?? null;
  const cpus = (text.match(/^processor\s*:/gm) ?? []).length;
  return { cpuModel: deviceText(model, 200), cpus: Math.min(4096, Math.max(1, cpus)) };
}

/** `/proc/meminfo` → MemTotal in bytes (0 when absent). */
export function parseMeminfo(text: string): number {
  const kb = Number(/^MemTotal:\s*(\d+)\s*kB/m.exec(text)?.[1] ?? 0);
  return Number.isSafeInteger(kb * 1024) ? kb * 1024 : 0;
}

export async function readHardware(roots: HardwareRoots = SYSTEM_ROOTS, stick: string | null = null): Promise<RecoveryHardware> {
  let firmware: 'uefi' | 'bios';
  try {
    await access(join(roots.sys, 'firmware', 'efi'));
    firmware = 'uefi';
  } catch {
    firmware = 'bios';
  }
  const cpu = parseCpuinfo((await readText(join(roots.proc, 'cpuinfo'), 1024 * 1024)) ?? '');
  return RecoveryHardwareSchema.parse({
    firmware,
    cpuModel: cpu.cpuModel,
    cpus: cpu.cpus,
    memoryBytes: parseMeminfo((await readText(join(roots.proc, 'meminfo'), 64 * 1024)) ?? ''),
    disks: await readDisks(roots, stick),
    nics: await readNics(roots),
  });
}
