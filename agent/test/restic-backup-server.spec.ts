import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupTokenOp } from '@xspectre/contracts';
import { backupTokenKeyId, signBackupToken } from '@xspectre/contracts/backup-token';
import type { BackupServer } from '@xspectre/backup-server/app';
import { restoreArgs } from '../src/backups/restic-args.js';
import { ensureRepositoryPassword } from '../src/backups/repository-password.js';
import { runNightlyBackup, runRestic, type ResticRunOptions } from '../src/backups/restic-runner.js';
import { startTestBackupServer } from './backup-server-fixture.js';

/**
 * The agent's runner against the real backup server (its token-checking front and both rclone
 * instances), with tokens signed as the API signs them (contracts/src/node/backup-token.ts):
 * the nightly backup, a restore with a read token, and what the front refuses.
 */
describe('restic runner → backup server front', () => {
  let dir: string;
  let server: BackupServer;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = backupTokenKeyId(publicKey);
  const deviceId = randomUUID();
  const issued: BackupTokenOp[] = [];
  const token = (sub: string, op: BackupTokenOp) => {
    issued.push(op);
    const iat = Math.floor(Date.now() / 1000);
    return {
      token: signBackupToken(privateKey, kid, {
        iss: 'xspectre-api',
        aud: 'xspectre-backup',
        sub,
        op,
        iat,
        exp: iat + 600,
        jti: randomBytes(9).toString('base64url'),
      }),
      expiresAt: new Date((iat + 600) * 1000),
    };
  };
  let options: ResticRunOptions;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-agent-bs-'));
    server = await startTestBackupServer(dir, { keyId: kid, publicKey });
    await ensureRepositoryPassword(join(dir, 'state', 'password'));
    options = {
      restic: 'restic',
      deviceId,
      repositoryUrl: `http://127.0.0.1:${server.port}/${deviceId}/`,
      passwordFile: join(dir, 'state', 'password'),
      cacheDir: join(dir, 'cache'),
      fetchToken: async (op) => token(deviceId, op),
    };
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('backs up with append tokens, prunes with a prune token and restores with a read token, byte for byte', async () => {
    const data = join(dir, 'data');
    await mkdir(join(data, 'gvm'), { recursive: true });
    await writeFile(join(data, 'gvm', 'feed.db'), randomBytes(2 * 1024 * 1024));
    await writeFile(join(data, 'gvm', 'scanner.conf'), 'ospd=on\n');
    const hash = async (path: string) =>
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
    const before = { db: await hash(join(data, 'gvm', 'feed.db')), conf: await hash(join(data, 'gvm', 'scanner.conf')) };

    const outcome = await runNightlyBackup(
      options,
      { paths: [data], excludes: [], keepDaily: 7, keepWeekly: 4, tags: ['nightly'] },
      () => undefined,
    );
    expect(outcome.error).toBeNull();
    expect(new Set(issued)).toEqual(new Set(['append', 'prune']));

    await unlink(join(data, 'gvm', 'feed.db'));
    await writeFile(join(data, 'gvm', 'scanner.conf'), 'ransomware was here\n');
    const target = join(dir, 'restored');
    const restored = await runRestic(
      options,
      'read',
      restoreArgs({ cacheDir: options.cacheDir }, { snapshotId: outcome.summary!.snapshotId, target, include: [] }),
    );
    expect(restored.code, restored.stderrTail).toBe(0);
    expect(await hash(join(target, data, 'gvm', 'feed.db'))).toBe(before.db);
    expect(await hash(join(target, data, 'gvm', 'scanner.conf'))).toBe(before.conf);
  }, 180_000);

  it('cannot forget with append tokens, nor reach another device’s repository', async () => {
    const appendOnly: ResticRunOptions = { ...options, fetchToken: async () => token(deviceId, 'append') };
    const outcome = await runNightlyBackup(
      appendOnly,
      { paths: [join(dir, 'data')], excludes: [], keepDaily: 1, keepWeekly: 0, tags: [] },
      () => undefined,
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/^forget: /);

    const stranger: ResticRunOptions = { ...options, fetchToken: async (op) => token(randomUUID(), op) };
    const refused = await runNightlyBackup(
      stranger,
      { paths: [join(dir, 'data')], excludes: [], keepDaily: 7, keepWeekly: 4, tags: [] },
      () => undefined,
    );
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatch(/^(init|backup): /);
  }, 300_000);
});
