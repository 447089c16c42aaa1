import {
  AVAILABLE_BACKUP_MODES,
  canMutateResource,
  type BackupMode,
  type BackupPolicy,
  type BackupPolicyUpdate,
  type BackupRun,
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
}

export function policyFormOf(policy: BackupPolicy): PolicyForm {
  return {
    mode: policy.mode,
    paths: policy.paths.join('\n'),
    excludes: policy.excludes.join('\n'),
    localTime: policy.localTime,
    keepDaily: String(policy.keepDaily),
    keepWeekly: String(policy.keepWeekly),
  };
}

/** A count field as typed: a whole number, else NaN. */
function countOf(text: string): number {
  const t = text.trim();
  return /^-?\d{1,9}$/.test(t) ? Number(t) : Number.NaN;
}

/** PUT devices/:id/backup-policy's body; a count that is not a whole number goes as null, which the API refuses at its field. */
export type PolicyUpdateBody = Omit<BackupPolicyUpdate, 'keepDaily' | 'keepWeekly'> & {
  keepDaily: number | null;
  keepWeekly: number | null;
};

export function policyUpdateOf(form: PolicyForm): PolicyUpdateBody {
  const keepDaily = countOf(form.keepDaily);
  const keepWeekly = countOf(form.keepWeekly);
  return {
    mode: form.mode,
    paths: linesOf(form.paths),
    excludes: linesOf(form.excludes),
    localTime: form.localTime.trim(),
    keepDaily: Number.isNaN(keepDaily) ? null : keepDaily,
    keepWeekly: Number.isNaN(keepWeekly) ? null : keepWeekly,
  };
}

/** Whether a mode can be chosen today (FULL and HYBRID need disk imaging). */
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
  if (policy.mode !== 'FILE') return `File backups are ${policy.mode} for this device: set the mode to FILE first.`;
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
