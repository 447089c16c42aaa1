import {
  AVAILABLE_BACKUP_MODES,
  FILE_BACKUP_MODES,
  IMAGE_BACKUP_MODES,
  canMutateResource,
  type BackupMode,
  type BackupPolicy,
  type BackupPolicyUpdate,
  type BackupRun,
  type ImageWeekday,
  type OrganizationKind,
  type Permission,
  type Role,
} from '@xspectre/contracts';
import type { Tone } from '../components/ui';

/**
 * Pure parts of the device page's Backups tab: the policy form (textareas of one path per line)
 * and how runs read (the restore's path picker is in backups-restore.ts). The API validates (its 400/422 detail is shown as it is);
 * these only turn what was typed into the request's shape.
 */

/** A textarea of one entry per line: trimmed, blank lines dropped (order kept, duplicates left for the API to name). */
export function linesOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/** What the policy form holds: text as typed, so nothing is lost when the API refuses it. */
export interface PolicyForm {
  mode: BackupMode;
  paths: string;
  excludes: string;
  localTime: string;
  keepDaily: string;
  keepWeekly: string;
  /** FULL/HYBRID: the weekly full-disk image. */
  imageWeekday: ImageWeekday;
  imageLocalTime: string;
  keepImages: string;
}

export function policyFormOf(policy: BackupPolicy): PolicyForm {
  return {
    mode: policy.mode,
    paths: policy.paths.join('\n'),
    excludes: policy.excludes.join('\n'),
    localTime: policy.localTime,
    keepDaily: String(policy.keepDaily),
    keepWeekly: String(policy.keepWeekly),
    imageWeekday: policy.imageWeekday,
    imageLocalTime: policy.imageLocalTime,
    keepImages: String(policy.keepImages),
  };
}

/** A count field as typed: a whole number, else NaN. */
function countOf(text: string): number {
  const t = text.trim();
  return /^-?\d{1,9}$/.test(t) ? Number(t) : Number.NaN;
}

/** PUT devices/:id/backup-policy's body; a count that is not a whole number goes as null, which the API refuses at its field. */
export type PolicyUpdateBody = Omit<BackupPolicyUpdate, 'keepDaily' | 'keepWeekly' | 'keepImages'> & {
  keepDaily: number | null;
  keepWeekly: number | null;
  keepImages: number | null;
};

export function policyUpdateOf(form: PolicyForm): PolicyUpdateBody {
  const keepDaily = countOf(form.keepDaily);
  const keepWeekly = countOf(form.keepWeekly);
  const keepImages = countOf(form.keepImages);
  return {
    mode: form.mode,
    paths: linesOf(form.paths),
    excludes: linesOf(form.excludes),
    localTime: form.localTime.trim(),
    keepDaily: Number.isNaN(keepDaily) ? null : keepDaily,
    keepWeekly: Number.isNaN(keepWeekly) ? null : keepWeekly,
    imageWeekday: form.imageWeekday,
    imageLocalTime: form.imageLocalTime.trim(),
    keepImages: Number.isNaN(keepImages) ? null : keepImages,
  };
}

/** Whether the mode backs files up nightly (FILE, HYBRID) / takes the weekly full-disk image (FULL, HYBRID). */
export const backsUpFiles = (mode: BackupMode): boolean => FILE_BACKUP_MODES.includes(mode);
export const takesImages = (mode: BackupMode): boolean => IMAGE_BACKUP_MODES.includes(mode);

/** "Sunday 03:00" for the weekly image. */
export function weeklySlotText(weekday: ImageWeekday, localTime: string): string {
  return `${weekday.charAt(0).toUpperCase()}${weekday.slice(1)} ${localTime}`;
}

/** A time as the site's clock shows it (e.g. "Sun, 6 Dec 2026, 03:00"), for schedules read in the site's zone. */
export function siteTimeText(iso: string, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(iso));
  } catch {
    return iso;
  }
}

/** Whether a mode can be chosen (all four since FULL and HYBRID have the weekly image). */
export function isModeAvailable(mode: BackupMode): boolean {
  return AVAILABLE_BACKUP_MODES.includes(mode);
}

/** Whether this operator may use a backups permission on a device owned by an organization of `ownerKind`. */
export function mayUseBackups(
  permission: Extract<Permission, 'backups.trigger' | 'backups.restore'>,
  can: (p: Permission) => boolean,
  role: Role,
  ownerKind: OrganizationKind | undefined,
): boolean {
  return can(permission) && (ownerKind === undefined || canMutateResource(role, ownerKind));
}

/** Why "Back up now" cannot be used (the API would answer 409 BACKUP_NOT_ENABLED), or null. */
export function backupNowBlocker(policy: Pick<BackupPolicy, 'mode'> | undefined): string | null {
  if (!policy) return 'The policy is still loading.';
  if (!backsUpFiles(policy.mode)) return `File backups are ${policy.mode} for this device: set the mode to FILE or HYBRID first.`;
  return null;
}

const RUN_TONE: Record<BackupRun['status'], Tone> = {
  scheduled: 'info',
  running: 'info',
  succeeded: 'ok',
  failed: 'bad',
  missed: 'warn',
};

export function runStatusTone(status: BackupRun['status']): Tone {
  return RUN_TONE[status];
}

/** Runs still under way: the list is read again while any is. */
export function hasOpenRun(runs: readonly Pick<BackupRun, 'status'>[] | undefined): boolean {
  return (runs ?? []).some((r) => r.status === 'scheduled' || r.status === 'running');
}

/** The nightly slot's date, or "by hand (who)" for a run asked for outside the schedule. */
export function runOriginText(run: Pick<BackupRun, 'slotDate' | 'requestedBy'>): string {
  if (run.slotDate) return run.slotDate;
  return run.requestedBy ? `by hand (${run.requestedBy})` : 'by hand';
}

/** Newest first, by creation (the API's order; kept when runs are merged locally). */
export function newestFirst<T extends Pick<BackupRun, 'createdAt'>>(runs: readonly T[]): T[] {
  return [...runs].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
}
