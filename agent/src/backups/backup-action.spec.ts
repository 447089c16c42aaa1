import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { BACKUP_SNAPSHOT_LISTING_MAX, BackupRunResultSchema, type BackupProgress } from '@xspectre/contracts';
import { BackupActions, PASSWORD_FILE } from './backup-action.js';
import { ensureRepositoryPassword } from './repository-password.js';
import { BackupApiError } from './backup-api.js';
import { progressReport, ProgressThrottle } from './backup-progress.js';
import { parentMetadataOnlyErrors, restoreWritablePaths, resultLine, runSummary, snapshotListing } from './backup-result.js';
import { decryptWithIdentity, encryptToRecipient } from './escrow.js';
import { checkArgs, restoreArgs } from './restic-args.js';
import { prepareTargetArgs, resticEnvironmentFile, resticSystemdRunArgs, resticUnitName } from './restic-unit.js';
import { ensureTransferKey, keepTransferKeyReported, reportTransferKey, TRANSFER_KEY_FILE } from './transfer-key.js';

const COMMAND = '3f0c5a5e-8d7c-4c1e-9a53-2b7a6f1d0e42';
const hex64 = (n: number) => n.toString(16).padStart(64, '0');

describe('restic as a transient unit', () => {
  const spec = {
    unit: resticUnitName(COMMAND, 'backup'),
    description: 'xSPECTRE restic backup',
    environmentFile: '/var/lib/xspectre/backups/run/x-backup.env',
    stdoutPath: '/var/lib/xspectre/backups/run/x-backup.stdout',
    stderrPath: '/var/lib/xspectre/backups/run/x-backup.stderr',
    readWritePaths: ['/var/lib/xspectre/backups/cache'],
    command: ['/usr/bin/restic', 'backup', '--json', '--exclude', '$HOME/*.tmp', '--', '/etc', '/home'],
  };

  it('runs sandboxed, at idle I/O priority, with its environment from a file and output to files', () => {
    const args = resticSystemdRunArgs(spec);
    const options = args.slice(0, args.indexOf('--'));
    expect(options).toEqual([
      `--unit=xspectre-restic-${COMMAND}-backup.service`,
      '--description=xSPECTRE restic backup',
      '--quiet',
      '--wait',
      '--collect',
      '--property=Type=exec',
      '--property=IOSchedulingClass=idle',
      '--property=Nice=10',
      '--property=EnvironmentFile=/var/lib/xspectre/backups/run/x-backup.env',
      '--property=StandardOutput=file:/var/lib/xspectre/backups/run/x-backup.stdout',
      '--property=StandardError=file:/var/lib/xspectre/backups/run/x-backup.stderr',
      '--property=ProtectSystem=strict',
      '--property=ReadWritePaths=/var/lib/xspectre/backups/cache',
      '--property=PrivateTmp=yes',
      '--property=NoNewPrivileges=yes',
    ]);
    // Never --setenv (its values show in `systemctl show`); `$` escaped so PID 1 passes it as given.
    expect(args.join(' ')).not.toMatch(/--setenv|RESTIC_|password/i);
    expect(args.slice(args.indexOf('--') + 1)).toEqual([
      '/usr/bin/restic',
      'backup',
      '--json',
      '--exclude',
      '$$HOME/*.tmp',
      '--',
      '/etc',
      '/home',
    ]);
  });

  it('gives a restore write access to each of its targets only, and refuses paths a property cannot hold', () => {
    const args = resticSystemdRunArgs({ ...spec, readWritePaths: ['/var/lib/xspectre/backups/cache', '/etc', '/srv/app'] });
    expect(args.filter((a) => a.startsWith('--property=ReadWritePaths='))).toEqual([
      '--property=ReadWritePaths=/var/lib/xspectre/backups/cache',
      '--property=ReadWritePaths=/etc',
      '--property=ReadWritePaths=/srv/app',
    ]);
    for (const bad of ['/srv/my app', '/srv/"x"', '/srv/%n', 'relative', '/srv/a\nb'])
      expect(() => resticSystemdRunArgs({ ...spec, readWritePaths: [bad] }), bad).toThrow(/not a path/);
    expect(() => resticSystemdRunArgs({ ...spec, readWritePaths: [] })).toThrow(/writable path/);
    expect(() => resticUnitName('../../x', 'backup')).toThrow(/not a command id/);
    expect(prepareTargetArgs(resticUnitName(COMMAND, 'prepare'), '/srv/re$tored')).toEqual([
      `--unit=xspectre-restic-${COMMAND}-prepare.service`,
      '--description=xSPECTRE restore target',
      '--quiet',
      '--wait',
      '--collect',
      '--property=Type=exec',
      '--',
      'mkdir',
      '-p',
      '-m',
      '0700',
      '--',
      '/srv/re$$tored',
    ]);
  });

  it('writes the environment file with plain values and refuses values the file would alter', () => {
    expect(
      resticEnvironmentFile({
        RESTIC_REPOSITORY: 'rest:http://restic:Ab-_9@127.0.0.1:4711/3f0c5a5e-8d7c-4c1e-9a53-2b7a6f1d0e42/',
        RESTIC_PASSWORD_FILE: '/var/lib/xspectre/backups/restic-password',
      }),
    ).toBe(
      'RESTIC_REPOSITORY=rest:http://restic:Ab-_9@127.0.0.1:4711/3f0c5a5e-8d7c-4c1e-9a53-2b7a6f1d0e42/\n' +
        'RESTIC_PASSWORD_FILE=/var/lib/xspectre/backups/restic-password\n',
    );
    for (const bad of ['/a b', '/$HOME', '/a"b', '/a\nEVIL=1', "/a'b"])
      expect(() => resticEnvironmentFile({ RESTIC_CACHE_DIR: bad }), bad).toThrow(/would alter/);
  });

  it('builds check and restore argument arrays', () => {
    expect(checkArgs({ cacheDir: '/c' }, '10%')).toEqual(['check', '--cache-dir', '/c', '--read-data-subset', '10%']);
    expect(restoreArgs({ cacheDir: '/c' }, { snapshotId: 'abcdef12', target: '/restore', include: ['/etc', '/home/a'] })).toEqual([
      'restore',
      'abcdef12',
      '--cache-dir',
      '/c',
      '--target',
      '/restore',
      '--include',
      '/etc',
      '--include',
      '/home/a',
    ]);
  });
});

describe('the result line', () => {
  const summary = runSummary(
    {
      type: 'summary',
      snapshotId: hex64(7),
      filesNew: 3,
      filesChanged: 1,
      filesUnmodified: 9,
      dataAddedBytes: 1234,
      totalFiles: 13,
      totalBytes: 99999,
      durationSeconds: 1.5,
    },
    2,
  );

  it('lists full ids, newest first, in UTC, at most the contract’s maximum, skipping what is not a snapshot', () => {
    const raw = [
      { id: hex64(1), short_id: '00000000', time: '2026-12-01T02:00:05.123456789+01:00' },
      { id: hex64(2), time: '2026-12-03T02:00:00Z' },
      { id: 'abc', time: '2026-12-03T02:00:00Z' },
      { id: hex64(3), time: 'yesterday' },
      null,
    ];
    expect(snapshotListing(JSON.stringify(raw))).toEqual([
      { id: hex64(2), time: '2026-12-03T02:00:00.000Z' },
      { id: hex64(1), time: '2026-12-01T01:00:05.123Z' },
    ]);
    expect(snapshotListing('not json')).toBeNull();
    expect(snapshotListing('{}')).toBeNull();
    const many = Array.from({ length: BACKUP_SNAPSHOT_LISTING_MAX + 20 }, (_, i) => ({
      id: hex64(i + 1),
      time: new Date(Date.UTC(2026, 0, 1) + i * 3600_000).toISOString(),
    }));
    const listed = snapshotListing(JSON.stringify(many))!;
    expect(listed).toHaveLength(BACKUP_SNAPSHOT_LISTING_MAX);
    expect(listed[0]!.id).toBe(hex64(BACKUP_SNAPSHOT_LISTING_MAX + 20));
    expect(listed.at(-1)!.id).toBe(hex64(21));
  });

  it('prints one JSON line valid against BackupRunResultSchema, and refuses an invalid one', () => {
    const line = resultLine({ summary, snapshots: [{ id: hex64(7), time: '2026-12-03T02:00:00.000Z' }], check: null, escrow: null });
    expect(line).not.toContain('\n');
    expect(BackupRunResultSchema.parse(JSON.parse(line)).summary).toMatchObject({ snapshotId: hex64(7), unreadableFiles: 2 });
    expect(() =>
      resultLine({ summary, snapshots: [], check: { ok: false, subset: '10%', error: 'x'.repeat(501) }, escrow: null }),
    ).toThrow();
    expect(() =>
      resultLine({ summary, snapshots: [], check: null, escrow: { recipient: 'age1nope', ciphertext: 'not armored' } }),
    ).toThrow();
  });
});

describe('restore targets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-restore-paths-'));
    await mkdir(join(dir, 'etc', 'app'), { recursive: true });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('an alternate directory is the only writable path; the original place gets the nearest existing directories', async () => {
    expect(await restoreWritablePaths('/srv/restored', ['/etc/app'])).toEqual(['/srv/restored']);
    expect(
      await restoreWritablePaths('/', [
        join(dir, 'etc', 'app'),
        join(dir, 'etc', 'app', 'gone', 'deeper.conf'),
        join(dir, 'etc', 'x.conf'),
      ]),
    ).toEqual([join(dir, 'etc', 'app'), join(dir, 'etc')]);
  });
});

describe('a restore in place whose only errors are the times of the directories above the restored paths', () => {
  const include = ['/srv/xs-data', '/home', '/etc/xs-lab/'];
  const stderr = (lines: string[], n = lines.length) => `${lines.join('\n')}\nFatal: There were ${n} errors\n`;

  it('names those parents (restic 0.14 exits 1 though every file was restored)', () => {
    const text = stderr([
      'ignoring error for /etc: UtimesNano: read-only file system',
      'ignoring error for /srv: UtimesNano: read-only file system',
    ]);
    expect(parentMetadataOnlyErrors(text, include)).toEqual(['/etc', '/srv']);
  });

  it('is null for any other error: a restored path itself, another operation or error, a count that does not add up', () => {
    expect(parentMetadataOnlyErrors(stderr(['ignoring error for /etc/xs-lab: UtimesNano: read-only file system']), include)).toBeNull();
    expect(parentMetadataOnlyErrors(stderr(['ignoring error for /srv/xs-data/a: UtimesNano: read-only file system']), include)).toBeNull();
    expect(parentMetadataOnlyErrors(stderr(['ignoring error for /etc: OpenFile: read-only file system']), include)).toBeNull();
    expect(parentMetadataOnlyErrors(stderr(['ignoring error for /etc: UtimesNano: permission denied']), include)).toBeNull();
    expect(parentMetadataOnlyErrors(stderr(['ignoring error for /etc: UtimesNano: read-only file system'], 2), include)).toBeNull();
    expect(parentMetadataOnlyErrors('Fatal: unable to open repository\n', include)).toBeNull();
    expect(parentMetadataOnlyErrors(stderr(['ignoring error for /et: UtimesNano: read-only file system']), include)).toBeNull();
  });
});

describe('progress posts', () => {
  it('posts at most once per interval, the latest report, and drops failed posts', async () => {
    vi.useFakeTimers();
    try {
      const posted: BackupProgress[] = [];
      let fail = false;
      const throttle = new ProgressThrottle(
        async (p) => {
          if (fail) throw new BackupApiError(404, 'no route');
          posted.push(p);
        },
        2000,
        () => Date.now(),
      );
      throttle.update(progressReport('init'));
      throttle.update(progressReport('backup'));
      throttle.update(
        progressReport('backup', {
          type: 'status',
          percentDone: 0.5,
          filesDone: 1,
          totalFiles: 2,
          bytesDone: 10.7,
          totalBytes: 20,
          secondsElapsed: 3,
        }),
      );
      expect(posted.map((p) => p.phase)).toEqual(['init']);
      await vi.advanceTimersByTimeAsync(1999);
      expect(posted).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(posted).toHaveLength(2);
      expect(posted[1]).toMatchObject({ phase: 'backup', percentDone: 0.5, bytesDone: 10, secondsRemaining: null });
      fail = true;
      await vi.advanceTimersByTimeAsync(5000);
      throttle.update(progressReport('forget'));
      await vi.advanceTimersByTimeAsync(0);
      expect(throttle.dropped).toBe(1);
      throttle.update(progressReport('check'));
      await throttle.close();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(posted).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('escrow and the transfer key', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-transfer-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('encrypts to a recipient and decrypts with its identity only', async () => {
    const identity = await generateX25519Identity();
    const armored = await encryptToRecipient('s3cret-password\n', await identityToRecipient(identity));
    expect(armored).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n/);
    expect(armored).not.toContain('s3cret');
    expect(await decryptWithIdentity(armored, identity)).toBe('s3cret-password\n');
    await expect(decryptWithIdentity(armored, await generateX25519Identity())).rejects.toThrow();
  });

  it('makes the transfer key once (0600) and reports it until the API acknowledged it', async () => {
    const [first, same] = await Promise.all([ensureTransferKey(dir), ensureTransferKey(dir)]);
    expect(same).toEqual(first);
    expect(first.recipient).toMatch(/^age1[02-9ac-hj-np-z]{58}$/);
    expect((await stat(join(dir, TRANSFER_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect(await ensureTransferKey(dir)).toEqual(first);
    expect(await readFile(join(dir, TRANSFER_KEY_FILE), 'utf8')).toContain(`# public key: ${first.recipient}`);

    const reported: string[] = [];
    let answer: 'missing' | 'ok' = 'missing';
    const api = {
      transferKey: async (recipient: string) => {
        if (answer === 'missing') throw new BackupApiError(404, 'NOT_FOUND: no route');
        reported.push(recipient);
      },
    };
    const warnings: string[] = [];
    const log = { info: () => undefined, warn: (m: string) => void warnings.push(m), error: () => undefined };
    let sleeps = 0;
    await keepTransferKeyReported({
      dir,
      api,
      log,
      shutdown: new AbortController().signal,
      sleep: async () => {
        sleeps++;
        if (sleeps === 2) answer = 'ok';
      },
    });
    expect(sleeps).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(reported).toEqual([first.recipient]);
    // Acknowledged: not sent again.
    expect(await reportTransferKey(dir, api)).toBe(true);
    expect(reported).toHaveLength(1);
  });
});

describe('BackupActions', () => {
  const actions = (restic?: string, dir = '/nonexistent/backups', systemd = false) =>
    new BackupActions({
      deviceId: COMMAND,
      dir,
      ...(restic === undefined ? {} : { restic }),
      api: { token: () => Promise.reject(new Error('no')), progress: async () => undefined, transferKey: async () => undefined },
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      systemdRunning: async () => systemd,
    });

  it('names a missing restic; a configured executable is enough', async () => {
    expect(await actions('/nonexistent/restic').unsupported()).toBe(
      'restic is not installed: /nonexistent/restic is not an executable file',
    );
    expect(await actions('restic').unsupported()).toBe('restic is not installed: restic is not an executable file');
    expect(await actions(process.execPath).unsupported()).toBeNull();
  });

  it('refuses a restore into /tmp when restic runs in a unit with a private /tmp', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xs-actions-'));
    try {
      await ensureRepositoryPassword(join(dir, PASSWORD_FILE));
      const result = await actions(process.execPath, dir, true).run(
        {
          v: 1,
          commandId: COMMAND,
          action: 'backup.restore',
          params: {
            runId: COMMAND,
            repositoryUrl: 'http://127.0.0.1:9/x/',
            snapshotId: 'abcdef12',
            include: ['/etc'],
            target: '/var/tmp/restored',
            source: null,
          },
          nonce: 'n',
          expiresAt: new Date().toISOString(),
          startedAt: new Date().toISOString(),
          bootMarker: '',
          unit: null,
          runningReported: true,
          result: null,
          finishedAt: null,
          reported: false,
        },
        new AbortController().signal,
      );
      expect(result).toEqual({
        status: 'failed',
        exitCode: 2,
        reason: 'backup.restore: cannot restore into /var/tmp/restored: restic runs with a private /tmp',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
