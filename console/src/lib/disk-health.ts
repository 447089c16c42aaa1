import { smartFailure, type DeviceDiskHealth, type DiskHealth } from '@xspectre/contracts';

export type DiskHealthTone = 'ok' | 'bad' | 'neutral' | 'warn';

/** One disk as the device page's inventory shows it. */
export interface DiskHealthRow {
  key: string;
  device: string;
  what: string;
  badge: { tone: DiskHealthTone; label: string; title: string };
  temperature: string;
  hours: string;
  details: string;
}

const count = (n: number | null, what: string) => (n === null ? null : `${n.toLocaleString('en-US')} ${what}`);

/** A disk's verdict the way the API judges it (contracts smartFailure), so the badge and the alert agree. */
export function diskBadge(disk: DiskHealth): DiskHealthRow['badge'] {
  const failure = smartFailure(disk);
  if (failure) return { tone: 'bad', label: 'failing', title: failure };
  if (disk.health === 'passed') return { tone: 'ok', label: 'passed', title: 'SMART self-assessment PASSED' };
  if (disk.error) return { tone: 'warn', label: 'unreadable', title: disk.error };
  return { tone: 'neutral', label: 'unknown', title: 'the disk reports no SMART self-assessment' };
}

export function diskHealthRows(health: DeviceDiskHealth): DiskHealthRow[] {
  return health.report.disks.map((d, i) => ({
    key: `${d.device}:${i}`,
    device: d.device,
    what: [d.protocol === 'unknown' ? null : d.protocol, d.model, d.serial ? `S/N ${d.serial}` : null].filter(Boolean).join(' · ') || '—',
    badge: diskBadge(d),
    temperature: d.temperatureC === null ? '—' : `${d.temperatureC} °C`,
    hours: d.powerOnHours === null ? '—' : `${d.powerOnHours.toLocaleString('en-US')} h`,
    details:
      [
        count(d.reallocatedSectors, 'reallocated'),
        count(d.pendingSectors, 'pending'),
        count(d.mediaErrors, 'media errors'),
        d.percentageUsed === null ? null : `${d.percentageUsed} % used`,
        d.criticalWarning ? `critical warning 0x${d.criticalWarning.toString(16).padStart(2, '0')}` : null,
        d.error,
      ]
        .filter(Boolean)
        .join(' · ') || '—',
  }));
}
