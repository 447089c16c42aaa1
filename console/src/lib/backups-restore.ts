import { BackupPathSchema, BackupRestoreRequestSchema, type BackupRestoreRequest, type BackupSnapshot } from '@xspectre/contracts';
import { linesOf } from './backups';

/**
 * The restore dialog's path picker: a snapshot of the catalog, paths ticked among those it backed
 * up and sub-paths typed one per line, to the original place or another directory. Checked with
 * the contract's BackupPathSchema before anything is sent; the API checks again.
 */

export interface RestorePick {
  snapshotId: string;
  /** Paths ticked among the snapshot's backed-up paths. */
  ticked: readonly string[];
  /** Sub-paths typed, one per line. */
  typed: string;
  target: 'original' | 'alternate';
  directory: string;
}

export interface RestoreErrors {
  snapshotId?: string;
  paths?: string;
  directory?: string;
}

export type RestoreCheck = { ok: true; request: BackupRestoreRequest } | { ok: false; errors: RestoreErrors };

const SNAPSHOT_ID = /^[0-9a-f]{8,64}$/;
const MAX_PATHS = 64;

export function emptyPick(snapshotId = ''): RestorePick {
  return { snapshotId, ticked: [], typed: '', target: 'original', directory: '' };
}

/** Ticks or unticks one of the snapshot's paths (order of the snapshot's list kept by the caller). */
export function toggled(ticked: readonly string[], path: string, on: boolean): string[] {
  return on ? (ticked.includes(path) ? [...ticked] : [...ticked, path]) : ticked.filter((p) => p !== path);
}

/** The first problem of a path as the contract words it, or null. */
function pathProblem(path: string): string | null {
  const parsed = BackupPathSchema.safeParse(path);
  return parsed.success ? null : (parsed.error.issues[0]?.message ?? 'is not a valid path');
}

/** The request for a pick, or the problems at their fields. Ticked and typed paths are merged, duplicates once. */
export function restoreRequestOfPick(pick: RestorePick): RestoreCheck {
  const errors: RestoreErrors = {};
  const snapshotId = pick.snapshotId.trim();
  if (!snapshotId) errors.snapshotId = 'choose a snapshot';
  else if (!SNAPSHOT_ID.test(snapshotId)) errors.snapshotId = 'must be a restic snapshot id (8–64 hex digits)';

  const typed = linesOf(pick.typed);
  const problems = typed.flatMap((p) => {
    const problem = pathProblem(p);
    return problem ? [`“${p}” ${problem}`] : [];
  });
  const paths = [...new Set([...pick.ticked, ...typed])];
  if (problems.length > 0) errors.paths = problems.join('; ');
  else if (paths.length === 0) errors.paths = 'tick a path or type one';
  else if (paths.length > MAX_PATHS) errors.paths = `at most ${MAX_PATHS} paths`;

  const directory = pick.directory.trim();
  if (pick.target === 'alternate') {
    const problem = directory ? pathProblem(directory) : 'name the directory to restore into';
    if (problem) errors.directory = directory ? `“${directory}” ${problem}` : problem;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const request: BackupRestoreRequest = {
    snapshotId,
    paths,
    target: pick.target === 'original' ? { mode: 'original' } : { mode: 'alternate', directory },
  };
  const parsed = BackupRestoreRequestSchema.safeParse(request);
  if (!parsed.success) return { ok: false, errors: { paths: parsed.error.issues[0]?.message ?? 'invalid request' } };
  return { ok: true, request: parsed.data };
}

/** A catalog entry in the snapshot picker: "2026-12-04 02:00 UTC · 7f25e897 · 1.2 GiB". */
export function snapshotLabel(s: Pick<BackupSnapshot, 'snapshotId' | 'time' | 'totalBytes'>, format: (n: number) => string): string {
  const time = s.time.replace('T', ' ').slice(0, 16) + ' UTC';
  return [time, s.snapshotId.slice(0, 8), s.totalBytes === null ? null : format(s.totalBytes)].filter(Boolean).join(' · ');
}

/** The escrow's download name: `<device>.age`, the device's name with anything but letters, digits, ".", "_" and "-" replaced. */
export function escrowFileName(deviceName: string): string {
  const safe = deviceName.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '') || 'device';
  return `${safe.slice(0, 100)}.age`;
}

/** A pasted repository password: its length checked only (it is used exactly as typed, never trimmed). */
export function passwordProblem(password: string): string | null {
  if (password.length === 0) return 'paste the repository password you decrypted offline';
  if (password.length > 1024) return 'must be at most 1024 characters';
  if (/[\r\n]/.test(password)) return 'must be one line';
  return null;
}

/** The catalog's full id for a snapshot named by a prefix (a run's summary may carry restic's short id); else the id as given. */
export function catalogIdOf(snapshots: readonly Pick<BackupSnapshot, 'snapshotId'>[] | undefined, id: string): string {
  if (!id) return id;
  return (
    (snapshots ?? []).find((s) => s.snapshotId === id)?.snapshotId ??
    (snapshots ?? []).find((s) => s.snapshotId.startsWith(id))?.snapshotId ??
    id
  );
}
