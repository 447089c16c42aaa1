import { createHash } from 'node:crypto';
import type { HardwareChange, InventoryReport } from '@xspectre/contracts';
import { hardwareFingerprint } from '../devices/fingerprint.js';

/** Flattens a report to `path → text`: disks and NICs keyed by name, so reordering is no change. */
export function flattenInventory(report: InventoryReport): Map<string, string> {
  const out = new Map<string, string>();
  const put = (path: string, value: unknown) => {
    if (value === null || value === undefined) return;
    out.set(path, Array.isArray(value) ? value.join(', ') : String(value));
  };
  put('vendor', report.vendor);
  put('model', report.model);
  put('serial', report.serial);
  put('cpu.model', report.cpu.model);
  put('cpu.cores', report.cpu.cores);
  put('cpu.id', report.cpu.id);
  put('ramBytes', report.ramBytes);
  for (const disk of report.disks) {
    put(`disks[${disk.name}].model`, disk.model);
    put(`disks[${disk.name}].serial`, disk.serial);
    put(`disks[${disk.name}].sizeBytes`, disk.sizeBytes);
  }
  for (const nic of report.nics ?? []) {
    put(`nics[${nic.name}].mac`, nic.mac);
    put(`nics[${nic.name}].addresses`, [...nic.addresses].sort());
  }
  put('os.name', report.os.name);
  put('os.version', report.os.version);
  put('os.kernel', report.os.kernel);
  put('agentVersion', report.agentVersion);
  put('agentBuildId', report.agentBuildId);
  return out;
}

/** What changed from `before` to `after`, sorted by path. */
export function diffInventory(before: InventoryReport, after: InventoryReport): HardwareChange[] {
  const a = flattenInventory(before);
  const b = flattenInventory(after);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.filter((p) => a.get(p) !== b.get(p)).map((path) => ({ path, before: a.get(path) ?? null, after: b.get(path) ?? null }));
}

/** Changes of the machine itself (not addresses, OS or agent updates): they raise an event. */
export function isHardwareChange(change: HardwareChange): boolean {
  return /^(vendor|model|serial|cpu\.|ramBytes|disks\[|nics\[[^\]]+\]\.mac)/.test(change.path);
}

/**
 * Hash of the report with keys sorted: equal content, equal hash, whatever the key order. The
 * MAC list (all interfaces, containers' veths included) is only for the fingerprint: left out.
 */
export function inventoryHash({ macs: _macs, ...report }: InventoryReport): string {
  return createHash('sha256').update(canonicalJson(report)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Whether the report reproduces the fingerprint bound at enrollment. Any of the reported MACs
 * may be the one enrollment used: interfaces that come and go (a docker bridge sorting first)
 * must not quarantine a device, while a clone with new MACs, serial or CPU still does.
 * Null when it cannot tell (no MACs in the report, or nothing bound).
 */
export function reproducesFingerprint(
  bound: { fingerprint: string | null; installationSalt: string | null },
  report: InventoryReport,
): boolean | null {
  if (!bound.fingerprint || !bound.installationSalt || !report.macs || report.macs.length === 0) return null;
  return report.macs.some(
    (mac) =>
      hardwareFingerprint({ serial: report.serial, macs: [mac], cpuId: report.cpu.id, installationSalt: bound.installationSalt! }) ===
      bound.fingerprint,
  );
}

/** The fingerprint a report binds when an operator accepts it: the same rule as enrollment. */
export function fingerprintOf(report: InventoryReport, installationSalt: string): string | null {
  if (!report.macs || report.macs.length === 0) return null;
  return hardwareFingerprint({ serial: report.serial, macs: report.macs, cpuId: report.cpu.id, installationSalt });
}
