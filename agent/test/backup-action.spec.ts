import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { BackupRunResultSchema, type BackupRunParams, type BackupRestoreParams } from '@xspectre/contracts';
import { backupTokenKeyId, signBackupToken } from '@xspectre/contracts/backup-token';
import type { BackupServer } from '@xspectre/backup-server/app';
import { BackupActions, PASSWORD_FILE } from '../src/backups/backup-action.js';
import { httpBackupApi } from '../src/backups/backup-api.js';
import { keepTransferKeyReported, TRANSFER_KEY_FILE } from '../src/backups/transfer-key.js';
import type { JournalEntry } from '../src/commands/command-journal.js';
import { startFakeApi, type FakeApi } from './fake-api.js';
import { startTestBackupServer } from './backup-server-fixture.js';

const run = promisify(execFile);

/**
 * `backup.run` and `backup.restore` as the executor hands them to the agent's backup actions,
 * against real restic, the real backup server (its token-checking front and rclone) and the
 * fake API (tokens signed as the API signs them, progress, transfer key). restic runs as a
 * child process: no systemd here (the transient unit's properties are unit-tested in
 * src/backups/backup-action.spec.ts).
 */
describe('backup actions (real restic, backup server and age)', () => {
  let dir: string;
  let server: BackupServer;
  let api: FakeApi;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = backupTokenKeyId(publicKey);
  /** runId → the device whose repository the run may use, and the ops it may ask for. */
  const runs = new Map<string, { repository: string; ops: string[] }>();
  let device: { id: string; credential: string };
  let actions: BackupActions;
  let recovery: { file: string; recipient: string };
  /** The first backup: feed.db as it was before it was deleted. */
  let first: { snapshotId: string; feedDb: string };

  const sha256 = async (path: string) =>
    createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  const entry = (action: string, params: BackupRunParams | BackupRestoreParams): JournalEntry => ({
    v: 1,
    commandId: randomUUID(),
    action,
    params: params as unknown as Record<string, unknown>,
    nonce: randomBytes(16).toString('hex'),
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    startedAt: new Date().toISOString(),
    bootMarker: '',
    unit: null,
    runningReported: true,
    result: null,
    finishedAt: null,
    reported: false,
  });
  const repositoryUrl = (deviceId: string) => `http://127.0.0.1:${server.port}/${deviceId}/`;
  const actionsFor = (deviceId: string, credential: string, stateDir: string) =>
    new BackupActions({
      deviceId,
      dir: join(stateDir, 'backups'),
      api: httpBackupApi({ apiUrl: api.url, deviceCredential: credential }),
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      systemdRunning: async () => false,
    });
  const never = new AbortController().signal;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-backup-action-'));
    server = await startTestBackupServer(dir, { keyId: kid, publicKey });
    api = await startFakeApi();
    api.backupTokens = (_deviceId, request) => {
      const known = runs.get(request.runId);
      if (!known) return undefined;
      known.ops.push(request.op);
      const iat = Math.floor(Date.now() / 1000);
      return {
        token: signBackupToken(privateKey, kid, {
          iss: 'xspectre-api',
          aud: 'xspectre-backup',
          sub: known.repository,
          op: request.op,
          iat,
          exp: iat + 600,
          jti: randomBytes(9).toString('base64url'),
        }),
        op: request.op,
        expiresAt: new Date((iat + 600) * 1000).toISOString(),
        repositoryUrl: repositoryUrl(known.repository),
      };
    };
    device = api.addDevice();
    actions = actionsFor(device.id, device.credential, join(dir, 'state'));
    // The offline recovery key, made with the real age tool as a Super Admin would.
    const file = join(dir, 'recovery.key');
    await run('age-keygen', ['-o', file]);
    recovery = { file, recipient: /# public key: (age1\S+)/.exec(await readFile(file, 'utf8'))![1]! };
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('backs up (with check and escrow), restores changed and deleted files to another directory byte for byte', async () => {
    const data = join(dir, 'data');
    await mkdir(join(data, 'gvm'), { recursive: true });
    await writeFile(join(data, 'gvm', 'feed.db'), randomBytes(2 * 1024 * 1024));
    await writeFile(join(data, 'gvm', 'scanner.conf'), 'ospd=on\n');
    await writeFile(join(data, 'gvm', 'scratch.tmp'), 'not backed up\n');
    const before = { db: await sha256(join(data, 'gvm', 'feed.db')), conf: await sha256(join(data, 'gvm', 'scanner.conf')) };

    const runId = randomUUID();
    runs.set(runId, { repository: device.id, ops: [] });
    const result = await actions.run(
      entry('backup.run', {
        runId,
        repositoryUrl: repositoryUrl(device.id),
        paths: [data],
        excludes: ['*.tmp'],
        keepDaily: 7,
        keepWeekly: 4,
        check: true,
        escrowRecipient: recovery.recipient,
      }),
      never,
    );
    expect(result?.reason).toBeUndefined();
    expect(result?.status).toBe('succeeded');
    // The token classes: append for init, backup, check and the listing; prune for forget.
    expect(new Set(runs.get(runId)!.ops)).toEqual(new Set(['append', 'prune']));

    const lines = result!.stdout!.trimEnd().split('\n');
    const line = BackupRunResultSchema.parse(JSON.parse(lines.at(-1)!));
    expect(line.summary.totalFiles).toBe(2);
    expect(line.check).toEqual({ ok: true, subset: '10%', error: null });
    expect(line.snapshots).toHaveLength(1);
    expect(line.snapshots[0]!.id).toBe(line.summary.snapshotId);
    expect(line.summary.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    first = { snapshotId: line.snapshots[0]!.id, feedDb: before.db };

    // The escrow opens with the real age tool and the recovery key: it is the device's password.
    await writeFile(join(dir, 'escrow.age'), line.escrow!.ciphertext);
    const { stdout: decrypted } = await run('age', ['-d', '-i', recovery.file, join(dir, 'escrow.age')]);
    expect(decrypted).toBe(await readFile(join(dir, 'state', 'backups', PASSWORD_FILE), 'utf8'));
    expect(result!.stdout).not.toContain(decrypted.trim());

    // Progress reached the API for this run.
    const progress = api.backupProgress.filter((p) => p.progress && p.runId === runId);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]!.progress.phase).toBe('init');
    expect(progress.every((p) => p.deviceId === device.id)).toBe(true);

    await unlink(join(data, 'gvm', 'feed.db'));
    await writeFile(join(data, 'gvm', 'scanner.conf'), 'ransomware was here\n');
    const restoreId = randomUUID();
    runs.set(restoreId, { repository: device.id, ops: [] });
    const target = join(dir, 'restored');
    const restored = await actions.run(
      entry('backup.restore', {
        runId: restoreId,
        repositoryUrl: repositoryUrl(device.id),
        snapshotId: line.snapshots[0]!.id,
        include: [join(data, 'gvm')],
        target,
        source: null,
      }),
      never,
    );
    expect(restored?.reason).toBeUndefined();
    expect(restored?.status).toBe('succeeded');
    expect(runs.get(restoreId)!.ops).toEqual(expect.arrayContaining(['read']));
    expect(new Set(runs.get(restoreId)!.ops)).toEqual(new Set(['read']));
    expect(await sha256(join(target, data, 'gvm', 'feed.db'))).toBe(before.db);
    expect(await sha256(join(target, data, 'gvm', 'scanner.conf'))).toBe(before.conf);
    await expect(stat(join(target, data, 'gvm', 'scratch.tmp'))).rejects.toThrow();
    expect((await stat(target)).mode & 0o777).toBe(0o700);
  }, 300_000);

  it('restores another device’s backups onto new hardware with the password sent to its transfer key', async () => {
    // The replacement device reports its transfer key (after the API first lacks the route).
    const fresh = api.addDevice();
    const freshState = join(dir, 'fresh');
    api.refuseTransferKeys = true;
    let attempts = 0;
    await keepTransferKeyReported({
      dir: join(freshState, 'backups'),
      api: httpBackupApi({ apiUrl: api.url, deviceCredential: fresh.credential }),
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      shutdown: never,
      sleep: async () => {
        attempts++;
        api.refuseTransferKeys = false;
      },
    });
    expect(attempts).toBe(1);
    const transferRecipient = api.transferKeys.get(fresh.id)!;
    expect(transferRecipient).toMatch(/^age1/);
    expect(await readFile(join(freshState, 'backups', TRANSFER_KEY_FILE), 'utf8')).toContain(transferRecipient);

    // The Super Admin decrypts the escrow offline and the console encrypts it to the transfer key (here: age itself).
    const password = await readFile(join(dir, 'state', 'backups', PASSWORD_FILE), 'utf8');
    await writeFile(join(dir, 'password.txt'), password);
    const { stdout: passwordCiphertext } = await run('age', ['-a', '-r', transferRecipient, join(dir, 'password.txt')]);
    await rm(join(dir, 'password.txt'));

    const freshActions = actionsFor(fresh.id, fresh.credential, freshState);
    const restoreId = randomUUID();
    runs.set(restoreId, { repository: device.id, ops: [] });
    const snapshotId = first.snapshotId;
    const target = join(dir, 'new-hardware');
    const result = await freshActions.run(
      entry('backup.restore', {
        runId: restoreId,
        repositoryUrl: repositoryUrl(device.id),
        snapshotId,
        include: [join(dir, 'data', 'gvm', 'feed.db')],
        target,
        source: { deviceId: device.id, passwordCiphertext },
      }),
      never,
    );
    expect(result?.reason).toBeUndefined();
    expect(result?.status).toBe('succeeded');
    expect(await sha256(join(target, dir, 'data', 'gvm', 'feed.db'))).toBe(first.feedDb);
    await expect(stat(join(target, dir, 'data', 'gvm', 'scanner.conf'))).rejects.toThrow();
    // The decrypted password was only ever in a runtime file, gone now; never in the output.
    expect(await readdir(join(freshState, 'backups', 'run')).catch(() => [])).toEqual([]);
    expect(JSON.stringify(result)).not.toContain(password.trim());

    // A password encrypted to some other key is refused with a clear reason.
    const other = join(dir, 'other.key');
    await run('age-keygen', ['-o', other]);
    const otherRecipient = /# public key: (age1\S+)/.exec(await readFile(other, 'utf8'))![1]!;
    await writeFile(join(dir, 'password.txt'), password);
    const { stdout: wrongCiphertext } = await run('age', ['-a', '-r', otherRecipient, join(dir, 'password.txt')]);
    await rm(join(dir, 'password.txt'));
    const refused = await freshActions.run(
      entry('backup.restore', {
        runId: restoreId,
        repositoryUrl: repositoryUrl(device.id),
        snapshotId,
        include: [join(dir, 'data')],
        target,
        source: { deviceId: device.id, passwordCiphertext: wrongCiphertext },
      }),
      never,
    );
    expect(refused).toMatchObject({
      status: 'failed',
      reason: "backup.restore: the password is not encrypted to this device's transfer key",
    });
  }, 300_000);

  it('fails a backup whose prune is refused with restic’s own words, and reports an interrupted run after a restart', async () => {
    const runId = randomUUID();
    runs.set(runId, { repository: device.id, ops: [] });
    // An API that hands out append tokens only: forget --prune is refused by the backup server.
    const saved = api.backupTokens!;
    api.backupTokens = (deviceId, request) => saved(deviceId, { ...request, op: 'append' });
    try {
      const result = await actions.run(
        entry('backup.run', {
          runId,
          repositoryUrl: repositoryUrl(device.id),
          paths: [join(dir, 'data')],
          excludes: [],
          keepDaily: 1,
          keepWeekly: 0,
          check: false,
          escrowRecipient: null,
        }),
        never,
      );
      expect(result?.status).toBe('failed');
      expect(result?.reason).toMatch(/^forget: .+/);
      expect(result!.reason!.length).toBeLessThanOrEqual(500);
    } finally {
      api.backupTokens = saved;
    }
    const resumed = await actions.resume(entry('backup.run', {} as BackupRunParams), false);
    expect(resumed).toMatchObject({ status: 'interrupted', reason: expect.stringMatching(/agent stopped during the backup run/) });
  }, 300_000);

  it('a failed check does not fail the run: the result says check.ok false with restic’s last line', async () => {
    // A device of its own, so that the damage below touches no other test's repository.
    const other = api.addDevice();
    const otherActions = actionsFor(other.id, other.credential, join(dir, 'other-state'));
    // restic stores every parent directory's metadata in the snapshot. Under /tmp, whose mtime
    // moves whenever another process makes a temp file, the second backup then wrote a new tree
    // pack that the damage below had not touched, and the check's random 10 % sometimes read
    // only that one (a flake). /var/tmp holds nothing else of ours: the parents stay unchanged,
    // so the second backup adds no pack and every pack the check can read is damaged.
    const stable = await mkdtemp(join('/var/tmp', 'xs-backup-check-'));
    onTestFinished(() => rm(stable, { recursive: true, force: true }));
    const data = join(stable, 'data');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'big.bin'), randomBytes(512 * 1024));
    await writeFile(join(data, 'small.conf'), 'x=1\n');
    const backUp = async (check: boolean) => {
      const runId = randomUUID();
      runs.set(runId, { repository: other.id, ops: [] });
      const params = { runId, repositoryUrl: repositoryUrl(other.id), paths: [data], excludes: [], keepDaily: 7, keepWeekly: 4 };
      return otherActions.run(entry('backup.run', { ...params, check, escrowRecipient: null }), never);
    };
    expect((await backUp(false))?.status).toBe('succeeded');

    // Damage every pack on the server's disk (what a failing disk would do): restic check reads them back.
    const packs: string[] = [];
    const walk = async (at: string): Promise<void> => {
      for (const item of await readdir(at, { withFileTypes: true }))
        if (item.isDirectory()) await walk(join(at, item.name));
        else packs.push(join(at, item.name));
    };
    await walk(join(dir, 'store', other.id, 'data'));
    expect(packs.length).toBeGreaterThan(0);
    for (const pack of packs) {
      const bytes = await readFile(pack);
      bytes.fill(0, 0, 4);
      await writeFile(pack, bytes);
    }

    const result = await backUp(true);
    expect(result?.reason).toBeUndefined();
    expect(result?.stdout).toMatch(/0 new, 0 changed, 2 unmodified files, 0 bytes added/);
    expect(result?.status).toBe('succeeded');
    const line = BackupRunResultSchema.parse(JSON.parse(result!.stdout!.trimEnd().split('\n').at(-1)!));
    expect(line.check).toEqual({ ok: false, subset: '10%', error: 'Fatal: repository contains errors' });
    expect(line.escrow).toBeNull();
  }, 300_000);
});
