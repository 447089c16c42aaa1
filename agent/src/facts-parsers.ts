/**
 * Pure parsers for the host files the agent reads (/proc/cpuinfo, /proc/meminfo,
 * /etc/os-release, sysfs values, os.networkInterfaces()). No I/O here: facts.ts feeds them.
 */
import { createHash } from 'node:crypto';
import type { NetworkInterfaceInfo } from 'node:os';
import { MAX_MEMORY_BYTES, type Nic } from '@xspectre/contracts';

/** Printable, single-spaced, trimmed, at most `max` characters; empty → null. */
export function cleanText(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const text = value
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return null;
  return text.length > max ? text.slice(0, max) : text;
}

/** Firmware fill-ins that identify nothing (vendors ship thousands of boards with these). */
const PLACEHOLDER =
  /^(to be filled by o\.?e\.?m\.?|default string|not specified|not applicable|not available|none|n\/a|na|unknown|o\.?e\.?m\.?|system (serial number|product name|manufacturer|version)|chassis serial number|base board serial number|serial|0+|f+|x+|0123456789|123456789|1234567890)$/i;

/** Like cleanText, but firmware placeholders ("To be filled by O.E.M.", "0000") become null. */
export function cleanIdentifier(value: string | null | undefined, max: number): string | null {
  const text = cleanText(value, max);
  return text === null || PLACEHOLDER.test(text) ? null : text;
}

/** `key : value` lines grouped in blank-line separated blocks (the /proc/cpuinfo layout). */
function cpuInfoBlocks(text: string): Map<string, string>[] {
  return text
    .split(/\n[ \t]*\n/)
    .map((block) => {
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const key = line.slice(0, colon).trim();
        if (key !== '' && !fields.has(key)) fields.set(key, line.slice(colon + 1).trim());
      }
      return fields;
    })
    .filter((fields) => fields.size > 0);
}

export interface CpuFacts {
  model: string;
  cores: number;
  id: string | null;
}

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/**
 * /proc/cpuinfo → model, logical CPU count, and a CPU id for the hardware fingerprint:
 * the `Serial` line when the SoC has one (Raspberry Pi and friends); otherwise a hash of the
 * CPU's identification signature (x86: vendor, family, model, stepping, model name; ARM:
 * implementer, architecture, variant, part, revision); otherwise a hash of the first
 * `flags`/`Features` line; otherwise null. The signature comes before the flags because the
 * kernel adds and renames flags across versions (mitigation flags such as `md_clear`), which
 * would turn a routine kernel update into a "hardware changed" alert.
 */
export function parseCpuInfo(text: string, fallbackCores: number): CpuFacts {
  const blocks = cpuInfoBlocks(text);
  const first = (key: string) => blocks.map((b) => b.get(key)).find((v) => v !== undefined && v !== '');
  const processors = blocks.filter((b) => b.has('processor')).length;
  const model =
    cleanText(first('model name') ?? first('Model') ?? first('Hardware') ?? first('cpu model') ?? first('Processor'), 200) ?? 'unknown';
  const cores = Math.min(4096, Math.max(1, processors || fallbackCores || 1));

  const serial = cleanIdentifier(first('Serial'), 200);
  if (serial !== null) return { model, cores, id: serial };

  const cpu0 = blocks.find((b) => b.has('processor')) ?? blocks[0] ?? new Map<string, string>();
  const signature = (keys: string[]) => (keys.every((k) => cpu0.has(k)) ? keys.map((k) => cpu0.get(k)).join('|') : null);
  const x86 = signature(['vendor_id', 'cpu family', 'model', 'stepping']);
  if (x86 !== null) return { model, cores, id: sha256(`x86|${x86}|${cpu0.get('model name') ?? ''}`) };
  const arm = signature(['CPU implementer', 'CPU architecture', 'CPU variant', 'CPU part', 'CPU revision']);
  if (arm !== null) return { model, cores, id: sha256(`arm|${arm}`) };
  const flags = first('flags') ?? first('Features');
  return { model, cores, id: flags === undefined ? null : sha256(`flags|${flags}`) };
}

/** /proc/meminfo → MemTotal in bytes (at most the contract's MAX_MEMORY_BYTES), or null. */
export function parseMemInfo(text: string): number | null {
  const match = /^MemTotal:\s+(\d+)\s*kB\s*$/m.exec(text);
  return match?.[1] === undefined ? null : Math.min(MAX_MEMORY_BYTES, Number(match[1]) * 1024);
}

/** /etc/os-release (shell-style KEY=value, values optionally quoted) → its variables. */
export function parseOsRelease(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z][A-Z0-9_]*)=(.*?)\s*$/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    let value = match[2];
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    } else if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
      value = value.slice(1, -1);
    }
    vars[match[1]] = value;
  }
  return vars;
}

export interface OsFacts {
  name: string;
  version: string;
  kernel: string;
}

export function osFacts(osRelease: Record<string, string>, kernelRelease: string): OsFacts {
  return {
    name: cleanText(osRelease.NAME ?? osRelease.ID, 120) ?? 'Linux',
    version: cleanText(osRelease.VERSION_ID ?? osRelease.VERSION ?? osRelease.BUILD_ID, 120) ?? 'unknown',
    kernel: cleanText(kernelRelease, 120) ?? 'unknown',
  };
}

/** Block devices that are disks: not loop devices, RAM disks or compressed swap. */
export function isDiskName(name: string): boolean {
  return /^[A-Za-z0-9._:-]{1,64}$/.test(name) && !/^(loop|ram|zram)\d*$/.test(name);
}

/** `/sys/block/<name>/size` counts 512-byte sectors whatever the disk's real sector size. */
export function parseBlockSize(text: string | null): number {
  const sectors = Number((text ?? '').trim());
  const bytes = sectors * 512;
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : 0;
}

const ZERO_MAC = '00:00:00:00:00:00';
/**
 * Interfaces that containers, bridges and tunnels create and remove: left out of the inventory's
 * NIC list, so a container starting is not a hardware change.
 */
const VIRTUAL_INTERFACE = /^(veth|docker\d|br-|virbr|cni|flannel|cali|vxlan|tun|tap|wg|vnet|kube)/;

export interface NetworkFacts {
  localIps: string[];
  macs: string[];
  nics: Nic[];
}

/**
 * Addresses and MACs of os.networkInterfaces(), loopback and MAC-less interfaces skipped.
 * Physical NICs come first (then by interface name), so `macs[0]` is stable across reboots
 * even when containers and bridges come and go.
 */
export function networkFacts(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, physical: ReadonlySet<string>): NetworkFacts {
  const names = Object.keys(interfaces).sort((a, b) => Number(physical.has(b)) - Number(physical.has(a)) || a.localeCompare(b));
  const localIps = new Set<string>();
  const macs = new Set<string>();
  const nics: Nic[] = [];
  for (const name of names) {
    const external = (interfaces[name] ?? []).filter((info) => !info.internal);
    if (external.length === 0) continue;
    let nicMac: string | null = null;
    for (const info of external) {
      localIps.add(info.address);
      const mac = info.mac.toLowerCase();
      if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) && mac !== ZERO_MAC) {
        macs.add(mac);
        nicMac ??= mac;
      }
    }
    if (/^[^\p{Cc}]{1,64}$/u.test(name) && (physical.has(name) || !VIRTUAL_INTERFACE.test(name))) {
      nics.push({ name, mac: nicMac, physical: physical.has(name), addresses: [...new Set(external.map((i) => i.address))].slice(0, 64) });
    }
  }
  return { localIps: [...localIps].slice(0, 64), macs: [...macs].slice(0, 64), nics: nics.slice(0, 64) };
}

/** A hostname the contract accepts ([A-Za-z0-9.-], 1–253 characters). */
export function cleanHostname(hostname: string): string {
  const clean = hostname
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/^[.-]+|[.-]+$/g, '')
    .slice(0, 253);
  return clean === '' ? 'localhost' : clean;
}
