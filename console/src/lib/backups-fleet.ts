import type { BackupCapacity, BackupFleetRow } from '@xspectre/contracts';
import type { Tone } from '../components/ui';

/**
 * Pure parts of the fleet Backups page (`src/app/(console)/backups`): the filter from the URL, the
 * row's badges and "last verified", and the backup servers' pool usage.
 */

export const FLEET_FILTERS = ['failing', 'overdue'] as const;
export type FleetFilter = (typeof FLEET_FILTERS)[number];

/** The URL's `filter=`: failing or overdue; anything else shows every device. */
export function fleetFilterOf(value: string | null): FleetFilter | undefined {
  return FLEET_FILTERS.find((f) => f === value);
}

/** The URL's `offset=`: a non-negative multiple of the page size, else 0. */
export function offsetOf(value: string | null, pageSize: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n - (n % pageSize) : 0;
}

/** A pool is shown as a warning from this share used (the alert rule "pool above 85 %"). */
export const POOL_WARN_FRACTION = 0.85;

export type BackupServer = BackupCapacity['servers'][number];

/** How full a server's pool is: the share used (0–1, by used / size), and whether it is at the warning level. */
export function poolUsage(pool: BackupServer['pool']): { fraction: number; warn: boolean } {
  const fraction = pool.sizeBytes > 0 ? Math.min(1, Math.max(0, pool.usedBytes / pool.sizeBytes)) : 0;
  return { fraction, warn: fraction >= POOL_WARN_FRACTION };
}

/** The last scrub in words and its tone: never, running, clean, or with errors. */
export function scrubView(scrub: BackupServer['lastScrub']): { text: string; tone: Tone } {
  if (!scrub) return { text: 'not applicable (directory store)', tone: 'neutral' };
  switch (scrub.state) {
    case 'none':
      return { text: 'never scrubbed', tone: 'warn' };
    case 'in_progress':
      return { text: 'scrub in progress', tone: 'info' };
    case 'canceled':
      return { text: 'last scrub canceled', tone: 'warn' };
    case 'finished':
      if (scrub.errors === null) return { text: 'scrubbed', tone: 'neutral' };
      return scrub.errors === 0
        ? { text: 'scrubbed, no errors', tone: 'ok' }
        : { text: `scrub found ${scrub.errors} error${scrub.errors === 1 ? '' : 's'}`, tone: 'bad' };
  }
}

/** A device's repository against its quota: "1.2 GiB of 50 GiB (2 %)", "1.2 GiB (no quota)", or null when never reported. */
export function usageText(used: number | null, quota: number | null, format: (n: number) => string): string | null {
  if (used === null) return null;
  if (quota === null || quota <= 0) return `${format(used)} (no quota)`;
  return `${format(used)} of ${format(quota)} (${Math.round((used / quota) * 100)} %)`;
}

/** The alert rule's threshold for a device's quota. */
export const QUOTA_WARN_FRACTION = 0.9;

export interface RowBadge {
  label: string;
  tone: Tone;
  title?: string;
}

/** What needs attention on a fleet row: failing, overdue, check failed, quota nearly full. */
export function fleetRowBadges(row: BackupFleetRow): RowBadge[] {
  const badges: RowBadge[] = [];
  if (row.lastRunStatus === 'failed') badges.push({ label: 'failing', tone: 'bad', title: row.lastRunError ?? 'the last run failed' });
  if (row.overdue) badges.push({ label: 'overdue', tone: 'warn', title: 'no successful backup in 26 h' });
  if (row.lastCheckOk === false) badges.push({ label: 'check failed', tone: 'bad', title: 'the last restic check found a problem' });
  if (row.usedBytes !== null && row.quotaBytes !== null && row.quotaBytes > 0 && row.usedBytes / row.quotaBytes >= QUOTA_WARN_FRACTION)
    badges.push({ label: 'quota', tone: 'warn', title: 'the repository uses 90 % or more of its quota' });
  return badges;
}

/** "Last verified restorable": the last successful check, or why there is none. */
export function verifiedView(row: Pick<BackupFleetRow, 'lastVerifiedAt' | 'lastCheckOk'>): { at: string | null; text: string; tone: Tone } {
  if (row.lastCheckOk === false) return { at: row.lastVerifiedAt, text: 'last check failed', tone: 'bad' };
  if (!row.lastVerifiedAt) return { at: null, text: 'never verified', tone: 'neutral' };
  return { at: row.lastVerifiedAt, text: 'verified', tone: 'ok' };
}
