import type { BackupProgress } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import { durationText, progressView } from './backups-progress';
import { bytes } from './format';

const progress: BackupProgress = {
  phase: 'backup',
  percentDone: 0.426,
  filesDone: 120,
  totalFiles: 300,
  bytesDone: 3 * 1024 * 1024,
  totalBytes: 10 * 1024 * 1024,
  secondsElapsed: 30,
  secondsRemaining: 250,
};
const at = '2026-12-04T10:00:00.000Z';

describe('backups progress', () => {
  it('words durations', () => {
    expect([durationText(0), durationText(12.4), durationText(250), durationText(3900)]).toEqual(['0 s', '12 s', '4 m 10 s', '1 h 05 m']);
  });

  it('gives the percent, files, bytes and time left counted down from the report', () => {
    expect(progressView(progress, at, Date.parse(at), bytes)).toEqual({
      percent: 42,
      phase: 'backup',
      files: '120 of 300 files',
      bytes: '3.0 MiB of 10.0 MiB',
      eta: 'about 4 m 10 s left',
    });
    expect(progressView(progress, at, Date.parse(at) + 10_000, bytes).eta).toBe('about 4 m 00 s left');
    expect(progressView(progress, at, Date.parse(at) + 300_000, bytes).eta).toBe('almost done');
  });

  it('copes with unknown totals, no estimate and out-of-range percents', () => {
    const v = progressView({ ...progress, totalFiles: 0, totalBytes: 0, secondsRemaining: null, percentDone: 1 }, null, 0, bytes);
    expect(v).toMatchObject({ percent: 100, files: '120 files', bytes: '3.0 MiB', eta: null });
  });
});
