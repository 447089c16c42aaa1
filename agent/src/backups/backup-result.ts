import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  BACKUP_SNAPSHOT_LISTING_MAX,
  BackupRunResultSchema,
  type BackupRunResult,
  type BackupRunSummary,
  type BackupSnapshotListing,
} from '@xspectre/contracts';
import type { BackupProgress } from './restic-progress.js';

const MAX_SECONDS = 10 * 24 * 3600;

/** The run's summary (contract) from restic's summary line and the files it could not read. */
export function runSummary(summary: Extract<BackupProgress, { type: 'summary' }>, unreadable: number): BackupRunSummary {
  const int = (n: number) => Math.min(Math.max(Math.trunc(n), 0), Number.MAX_SAFE_INTEGER);
  return {
    snapshotId: summary.snapshotId,
    filesNew: int(summary.filesNew),
    filesChanged: int(summary.filesChanged),
    filesUnmodified: int(summary.filesUnmodified),
    dataAddedBytes: int(summary.dataAddedBytes),
    totalFiles: int(summary.totalFiles),
    totalBytes: int(summary.totalBytes),
    durationSeconds: Math.min(Math.max(summary.durationSeconds, 0), MAX_SECONDS),
    unreadableFiles: int(unreadable),
  };
}

/**
 * `restic snapshots --json` (one JSON array) → the catalog listing: full ids and times (UTC),
 * newest first, at most BACKUP_SNAPSHOT_LISTING_MAX (the newest kept). Entries that are not
 * snapshots are skipped; null when the output is not a JSON array at all.
 */
export function snapshotListing(output: string): BackupSnapshotListing[] | null {
  let value: unknown;
  try {
    value = JSON.parse(output.trim());
  } catch {
    return null;
  }
  if (!Array.isArray(value)) return null;
  const listing: BackupSnapshotListing[] = [];
  for (const item of value as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const { id, time } = item as { id?: unknown; time?: unknown };
    if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id) || typeof time !== 'string') continue;
    const ms = Date.parse(time);
    if (Number.isNaN(ms)) continue;
    listing.push({ id, time: new Date(ms).toISOString() });
  }
  listing.sort((a, b) => b.time.localeCompare(a.time));
  return listing.slice(0, BACKUP_SNAPSHOT_LISTING_MAX);
}

/** The result line, validated against the contract (throws when it is not valid: never printed then). */
export function resultLine(result: BackupRunResult): string {
  return JSON.stringify(BackupRunResultSchema.parse(result));
}

/**
 * What a sandboxed restore may write: the target; for the original place (`/`), the nearest
 * existing directory of each include path (the path itself when it is a directory, else its
 * nearest existing ancestor), never more. Seen from the agent's sandbox: under ProtectHome=yes
 * (agent/systemd/xspectre-agent.service) /home's contents are hidden, so a path under /home
 * gets /home itself.
 */
export async function restoreWritablePaths(target: string, include: readonly string[]): Promise<string[]> {
  if (target !== '/') return [target];
  const isDirectory = (path: string) =>
    stat(path).then(
      (info) => info.isDirectory(),
      () => false,
    );
  const paths = new Set<string>();
  for (const path of include) {
    let at = path.replace(/\/+$/, '') || '/';
    while (at !== '/' && !(await isDirectory(at))) at = dirname(at);
    paths.add(at);
  }
  return [...paths];
}

/**
 * A restore in place (target `/`) runs with only the restored paths writable (restic-unit.ts),
 * and restic also sets the times of the directories above them (`/etc`, `/srv`): those fail
 * with "read-only file system" and restic exits 1 ("There were N errors") though every file was
 * restored. The parent directories it could not touch when that is all that failed, else null.
 */
export function parentMetadataOnlyErrors(stderr: string, include: readonly string[]): string[] | null {
  const total = /Fatal: There were (\d+) errors/.exec(stderr);
  if (!total) return null;
  const ignored = [...stderr.matchAll(/^ignoring error for (\/[^\n]*?): (\w+): [^\n]*read-only file system$/gm)];
  if (ignored.length !== Number(total[1])) return null;
  const roots = include.map((path) => path.replace(/\/+$/, '') || '/');
  const parents = new Set<string>();
  for (const [, path, op] of ignored) {
    const isParent = roots.some((root) => path === '/' || root.startsWith(`${path}/`));
    if (!isParent || !/^(UtimesNano|Lchown|Chmod|Chown)$/.test(op!)) return null;
    parents.add(path!);
  }
  return [...parents];
}
