import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_PROGRESS_LINE, parseBackupLine } from './restic-progress.js';
import { backupArgs, forgetArgs, restoreArgs } from './restic-args.js';

describe('restic --json progress', () => {
  it('reads status, summary and error lines, and ignores anything else', () => {
    expect(
      parseBackupLine('{"message_type":"status","percent_done":0.5,"total_files":4,"files_done":2,"bytes_done":10,"total_bytes":20}'),
    ).toEqual({
      type: 'status',
      percentDone: 0.5,
      filesDone: 2,
      totalFiles: 4,
      bytesDone: 10,
      totalBytes: 20,
      secondsElapsed: 0,
    });
    const summary = parseBackupLine(
      '{"message_type":"summary","files_new":3,"files_changed":0,"files_unmodified":0,"dirs_new":2,"data_added":3145,"total_files_processed":3,"total_bytes_processed":3145,"total_duration":0.4,"snapshot_id":"7f25e897"}',
    );
    expect(summary).toMatchObject({ type: 'summary', snapshotId: '7f25e897', filesNew: 3, dataAddedBytes: 3145 });
    expect(parseBackupLine('{"message_type":"error","error":{},"during":"archival","item":"/etc/shadow-"}')).toEqual({
      type: 'error',
      during: 'archival',
      item: '/etc/shadow-',
    });
    for (const junk of [
      '',
      'not json',
      '{"message_type":"status","percent_done":2}',
      '{"message_type":"summary","snapshot_id":"x"}',
      '[1]',
    ])
      expect(parseBackupLine(junk), junk).toBeNull();
    expect(parseBackupLine(`{"message_type":"status","x":"${'a'.repeat(MAX_PROGRESS_LINE)}"}`)).toBeNull();
  });

  it('splits lines across chunks and skips an over-long line whole', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter();
    splitter.push('{"a":1}\n{"b"', (l) => lines.push(l));
    splitter.push(':2}\r\n', (l) => lines.push(l));
    splitter.push('x'.repeat(MAX_PROGRESS_LINE + 1), (l) => lines.push(l));
    splitter.push('still long\nnext\n', (l) => lines.push(l));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', 'next']);
  });

  it('builds argument arrays with paths after "--" and no repository or password in them', () => {
    const repo = { cacheDir: '/var/cache/xspectre/restic' };
    const args = backupArgs(repo, { paths: ['/etc', '/home'], excludes: ['*.tmp'], host: 'dev-1', tags: ['nightly'] });
    expect(args.slice(args.indexOf('--'))).toEqual(['--', '/etc', '/home']);
    expect(args).toContain('--json');
    expect(args.join(' ')).not.toMatch(/--repo|password/);
    expect(forgetArgs(repo, { host: 'dev-1', keepDaily: 7, keepWeekly: 4 })).toEqual(
      expect.arrayContaining(['--keep-daily', '7', '--keep-weekly', '4', '--prune']),
    );
    expect(() => restoreArgs(repo, { snapshotId: '--target=/', target: '/', include: [] })).toThrow(/not a snapshot id/);
  });
});
