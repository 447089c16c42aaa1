import { z } from 'zod';

/**
 * restic's `--json` lines (backup): `status` while it runs, `summary` at the end, `error` per
 * file it could not read. Parsed leniently (restic adds fields between versions) but bounded:
 * numbers finite and non-negative, unknown or broken lines ignored, a line over 64 KiB dropped.
 */
const N = z.number().finite().min(0);

const StatusSchema = z.object({
  message_type: z.literal('status'),
  percent_done: N.max(1).optional(),
  total_files: N.optional(),
  files_done: N.optional(),
  total_bytes: N.optional(),
  bytes_done: N.optional(),
  seconds_elapsed: N.optional(),
});
const SummarySchema = z.object({
  message_type: z.literal('summary'),
  files_new: N,
  files_changed: N,
  files_unmodified: N,
  data_added: N,
  total_files_processed: N,
  total_bytes_processed: N,
  total_duration: N,
  snapshot_id: z.string().regex(/^[0-9a-f]{8,64}$/),
});
const ErrorSchema = z.object({
  message_type: z.literal('error'),
  error: z.unknown().optional(),
  during: z.string().max(64).optional(),
  item: z.string().max(4096).optional(),
});

export type BackupProgress =
  | {
      type: 'status';
      percentDone: number;
      filesDone: number;
      totalFiles: number;
      bytesDone: number;
      totalBytes: number;
      secondsElapsed: number;
    }
  | {
      type: 'summary';
      snapshotId: string;
      filesNew: number;
      filesChanged: number;
      filesUnmodified: number;
      dataAddedBytes: number;
      totalFiles: number;
      totalBytes: number;
      durationSeconds: number;
    }
  | { type: 'error'; during: string | null; item: string | null };

export const MAX_PROGRESS_LINE = 64 * 1024;

export function parseBackupLine(line: string): BackupProgress | null {
  if (line.length === 0 || line.length > MAX_PROGRESS_LINE || line[0] !== '{') return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const status = StatusSchema.safeParse(value);
  if (status.success) {
    const s = status.data;
    return {
      type: 'status',
      percentDone: s.percent_done ?? 0,
      filesDone: s.files_done ?? 0,
      totalFiles: s.total_files ?? 0,
      bytesDone: s.bytes_done ?? 0,
      totalBytes: s.total_bytes ?? 0,
      secondsElapsed: s.seconds_elapsed ?? 0,
    };
  }
  const summary = SummarySchema.safeParse(value);
  if (summary.success) {
    const s = summary.data;
    return {
      type: 'summary',
      snapshotId: s.snapshot_id,
      filesNew: s.files_new,
      filesChanged: s.files_changed,
      filesUnmodified: s.files_unmodified,
      dataAddedBytes: s.data_added,
      totalFiles: s.total_files_processed,
      totalBytes: s.total_bytes_processed,
      durationSeconds: s.total_duration,
    };
  }
  const error = ErrorSchema.safeParse(value);
  if (error.success) return { type: 'error', during: error.data.during ?? null, item: error.data.item ?? null };
  return null;
}

/** Splits a byte stream into lines, keeping a partial last line for the next chunk; over-long lines are skipped whole. */
export class LineSplitter {
  private pending = '';
  private skipping = false;

  constructor(private readonly maxLine = MAX_PROGRESS_LINE) {}

  push(chunk: string, onLine: (line: string) => void): void {
    let text = this.pending + chunk;
    this.pending = '';
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      const line = text.slice(0, newline);
      if (!this.skipping) onLine(line.replace(/\r$/, ''));
      this.skipping = false;
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    if (text.length > this.maxLine) {
      this.skipping = true;
      return;
    }
    if (!this.skipping) this.pending = text;
  }
}
