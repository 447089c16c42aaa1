import { MAX_SMART_COUNT, MAX_SMART_DISKS, type DiskHealth, type SmartProtocol } from '@xspectre/contracts';

/**
 * Pure readers of smartctl's JSON (`smartctl -j`, smartmontools 7): the periodic SMART collector
 * (smart.ts) and the recovery stick's `recovery.smart` (recovery/actions.ts) both use them. The
 * output is treated as hostile: parsed only within a size bound, every field type-checked, every
 * number finite and within the contract's bounds (else null), every string stripped of control
 * characters and cut to the contract's length.
 */

/** smartctl's exit status bits (smartctl(8), RETURN VALUES). */
export const SMARTCTL_EXIT = {
  commandLine: 1,
  openFailed: 2,
  commandFailed: 4,
  diskFailing: 8,
} as const;

/** A disk smartctl's scan found and could open: what to pass back as `-d <type> <name>`. */
export interface ScannedDisk {
  name: string;
  type: string;
}

export interface ScanResult {
  disks: ScannedDisk[];
  /** Devices the scan found but could not open (e.g. `Permission denied`). */
  openErrors: string[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const at = (data: unknown, path: readonly string[]): unknown => path.reduce<unknown>((v, k) => (isObject(v) ? v[k] : undefined), data);

/** A clean string of at most `max` characters, or null. */
export function cleanText(value: unknown, max: number): string | null {
  if (typeof value !== 'string') return null;
  const text = value
    .replace(/\p{Cc}/gu, '')
    .trim()
    .slice(0, max);
  return text === '' ? null : text;
}

/** A finite integer within [min, max], or null. */
export function boundedInt(value: unknown, min: number, max: number): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : null;
}

/** JSON.parse within a bound, an object or null. */
export function parseJsonObject(text: string, maxChars = 1024 * 1024): Json | null {
  if (text.length > maxChars) return null;
  try {
    const data: unknown = JSON.parse(text);
    return isObject(data) ? data : null;
  } catch {
    return null;
  }
}

// Device names and types go back to smartctl as arguments: only plain ones (never one starting with '-').
const DEVICE_NAME = /^\/dev\/[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const DEVICE_TYPE = /^[a-z][a-z0-9,_+-]{0,31}$/;

/** `smartctl --scan-open -j`: the disks to read (at most MAX_SMART_DISKS, each name once). */
export function parseSmartScan(text: string): ScanResult | null {
  const data = parseJsonObject(text);
  if (!data) return null;
  const devices = Array.isArray(data.devices) ? data.devices : [];
  const disks: ScannedDisk[] = [];
  const openErrors: string[] = [];
  for (const d of devices.slice(0, 256)) {
    if (!isObject(d)) continue;
    const name = typeof d.name === 'string' && DEVICE_NAME.test(d.name) && !d.name.includes('..') ? d.name : null;
    const type = typeof d.type === 'string' && DEVICE_TYPE.test(d.type) ? d.type : null;
    const openError = cleanText(d.open_error, 200);
    if (openError !== null) {
      if (openErrors.length < 8) openErrors.push(openError);
      continue;
    }
    if (name === null || type === null || disks.some((x) => x.name === name && x.type === type)) continue;
    if (disks.length < MAX_SMART_DISKS) disks.push({ name, type });
  }
  return { disks, openErrors };
}

function protocolOf(data: Json): SmartProtocol {
  const p = at(data, ['device', 'protocol']);
  return p === 'ATA' || p === 'NVMe' || p === 'SCSI' ? p : 'unknown';
}

/** The raw value of an ATA attribute by id (5 reallocated, 197 pending), or null. */
function ataRaw(data: Json, id: number): number | null {
  const table = at(data, ['ata_smart_attributes', 'table']);
  if (!Array.isArray(table)) return null;
  const row: unknown = table.slice(0, 256).find((r) => isObject(r) && r.id === id);
  return boundedInt(at(row, ['raw', 'value']), 0, MAX_SMART_COUNT);
}

const smartctlError = (data: Json): string | null => {
  const messages = at(data, ['smartctl', 'messages']);
  if (!Array.isArray(messages)) return null;
  const error: unknown = messages.slice(0, 32).find((m) => isObject(m) && m.severity === 'error');
  return cleanText(at(error, ['string']), 200);
};

/**
 * One disk from `smartctl -j -H -A -i` (any of ATA, NVMe, SCSI). `exitCode` is smartctl's: its
 * bit 3 says the disk is failing even where the JSON has no `smart_status`.
 */
export function parseSmartDisk(device: string, text: string, exitCode: number | null): DiskHealth {
  const name = cleanText(device, 64) ?? 'unknown';
  const data = parseJsonObject(text);
  const failingBit = exitCode !== null && (exitCode & SMARTCTL_EXIT.diskFailing) !== 0;
  if (!data) {
    return {
      ...emptyDisk(name),
      health: failingBit ? 'failed' : 'unknown',
      error: `smartctl gave no readable answer (exit ${exitCode ?? 'none'})`,
    };
  }
  const protocol = protocolOf(data);
  const passed = at(data, ['smart_status', 'passed']);
  const nvme = at(data, ['nvme_smart_health_information_log']);
  const openFailed = exitCode !== null && (exitCode & SMARTCTL_EXIT.openFailed) !== 0;
  return {
    device: name,
    protocol,
    model: cleanText(at(data, ['model_name']), 200) ?? cleanText(at(data, ['scsi_model_name']), 200),
    serial: cleanText(at(data, ['serial_number']), 200),
    health: passed === false || failingBit ? 'failed' : passed === true ? 'passed' : 'unknown',
    temperatureC: boundedInt(at(data, ['temperature', 'current']), -60, 200) ?? boundedInt(at(nvme, ['temperature']), -60, 200),
    powerOnHours:
      boundedInt(at(data, ['power_on_time', 'hours']), 0, 10_000_000) ?? boundedInt(at(nvme, ['power_on_hours']), 0, 10_000_000),
    reallocatedSectors: protocol === 'ATA' ? ataRaw(data, 5) : null,
    pendingSectors: protocol === 'ATA' ? ataRaw(data, 197) : null,
    mediaErrors: boundedInt(at(nvme, ['media_errors']), 0, MAX_SMART_COUNT),
    percentageUsed: boundedInt(at(nvme, ['percentage_used']), 0, 255),
    criticalWarning: boundedInt(at(nvme, ['critical_warning']), 0, 255),
    error: openFailed ? (smartctlError(data) ?? 'smartctl could not open the device') : null,
  };
}

function emptyDisk(device: string): DiskHealth {
  return {
    device,
    protocol: 'unknown',
    model: null,
    serial: null,
    health: 'unknown',
    temperatureC: null,
    powerOnHours: null,
    reallocatedSectors: null,
    pendingSectors: null,
    mediaErrors: null,
    percentageUsed: null,
    criticalWarning: null,
    error: null,
  };
}
