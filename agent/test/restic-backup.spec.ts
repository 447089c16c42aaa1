import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, unlink, writeFile, mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreArgs, snapshotsArgs } from '../src/backups/restic-args.js';
import type { BackupProgress } from '../src/backups/restic-progress.js';
import { ensureRepositoryPassword } from '../src/backups/repository-password.js';
import { RepositoryForwarder } from '../src/backups/repository-forwarder.js';
import { runNightlyBackup, runRestic, type ResticRunOptions } from '../src/backups/restic-runner.js';

/**
 * The agent's restic runner against a real restic REST server (rclone serve restic, which asks
 * for the device id and the token as Basic credentials, as the backup server's front does):
 * init, backup, forget/prune, restore with checksums, and what the forwarder refuses.
 */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('restic runner (real restic and rclone)', () => {
  let dir: string;
  let rclone: ChildProcess;
  let port: number;
  const deviceId = randomUUID();
  const token = `tok-${randomBytes(12).toString('hex')}`;
  let options: ResticRunOptions;
  const requested: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-restic-'));
    port = await freePort();
    await mkdir(join(dir, 'store'));
    rclone = spawn('rclone', ['serve', 'restic', '--addr', `127.0.0.1:${port}`, '--user', deviceId, '--pass', token, join(dir, 'store')], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      const up = await fetch(`http://127.0.0.1:${port}/`).then(
        (r) => r.status,
        () => 0,
      );
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await ensureRepositoryPassword(join(dir, 'state', 'restic-password'));
    options = {
      restic: 'restic',
      deviceId,
      repositoryUrl: `http://127.0.0.1:${port}/${deviceId}/`,
      passwordFile: join(dir, 'state', 'restic-password'),
      cacheDir: join(dir, 'cache'),
      fetchToken: async (op) => {
        requested.push(op);
        return { token, expiresAt: new Date(Date.now() + 600_000) };
      },
    };
  });
  afterAll(async () => {
    rclone?.kill('SIGTERM');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the repository password in a root-only file, made once', async () => {
    const path = join(dir, 'state', 'restic-password');
    const first = await readFile(path, 'utf8');
    await ensureRepositoryPassword(path);
    expect(await readFile(path, 'utf8')).toBe(first);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(first.trim().length).toBeGreaterThanOrEqual(40);
  });

  it('backs up, prunes by the policy and restores changed and deleted files with identical checksums', async () => {
    const data = join(dir, 'data');
    await mkdir(join(data, 'etc'), { recursive: true });
    await writeFile(join(data, 'etc', 'scanner.conf'), 'feed=community\n');
    await writeFile(join(data, 'etc', 'big.bin'), randomBytes(3 * 1024 * 1024));
    await writeFile(join(data, 'etc', 'Prüfbericht 🛰.txt'), 'unicode name\n');
    await writeFile(join(data, 'skip.tmp'), 'excluded');
    const before = {
      conf: await sha256(join(data, 'etc', 'scanner.conf')),
      big: await sha256(join(data, 'etc', 'big.bin')),
      unicode: await sha256(join(data, 'etc', 'Prüfbericht 🛰.txt')),
    };
    const progress: BackupProgress[] = [];
    const policy = { paths: [data], excludes: ['*.tmp'], keepDaily: 7, keepWeekly: 4, tags: ['nightly'] };
    const first = await runNightlyBackup(options, policy, (p) => progress.push(p));
    expect(first.error).toBeNull();
    expect(first.ok).toBe(true);
    expect(first.summary?.snapshotId).toMatch(/^[0-9a-f]{8,64}$/);
    expect(first.summary?.totalFiles).toBe(3);
    expect(progress.some((p) => p.type === 'summary')).toBe(true);
    // The backup asked for append tokens, forget/prune for a prune token.
    expect(new Set(requested)).toEqual(new Set(['append', 'prune']));

    // Change one file, delete another, then restore the snapshot: the originals come back, byte for byte.
    await writeFile(join(data, 'etc', 'scanner.conf'), 'feed=changed\n');
    await unlink(join(data, 'etc', 'big.bin'));
    const target = join(dir, 'restored');
    const restored = await runRestic(
      options,
      'read',
      restoreArgs({ cacheDir: options.cacheDir }, { snapshotId: first.summary!.snapshotId, target, include: [] }),
    );
    expect(restored.code, restored.stderrTail).toBe(0);
    expect(await sha256(join(target, data, 'etc', 'scanner.conf'))).toBe(before.conf);
    expect(await sha256(join(target, data, 'etc', 'big.bin'))).toBe(before.big);
    expect(await sha256(join(target, data, 'etc', 'Prüfbericht 🛰.txt'))).toBe(before.unicode);
    await expect(stat(join(target, data, 'skip.tmp'))).rejects.toThrow();

    // A second backup the same day: keep-daily keeps the newest of the day, so forget --prune drops the first.
    const second = await runNightlyBackup(options, policy, () => undefined);
    expect(second.ok, second.error ?? '').toBe(true);
    const lines: string[] = [];
    const listed = await runRestic(options, 'read', snapshotsArgs({ cacheDir: options.cacheDir }, deviceId), (line) => lines.push(line));
    expect(listed.code).toBe(0);
    const snapshots = JSON.parse(lines.join('')) as Array<{ id: string; short_id: string }>;
    expect(snapshots.map((s) => s.short_id)).toEqual([second.summary!.snapshotId]);
  }, 120_000);

  it('fails with restic’s own words when the backup server refuses the token', async () => {
    const refused = await runNightlyBackup(
      { ...options, fetchToken: async () => ({ token: 'wrong-token', expiresAt: new Date(Date.now() + 600_000) }) },
      { paths: [join(dir, 'data')], excludes: [], keepDaily: 7, keepWeekly: 4, tags: [] },
      () => undefined,
    );
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatch(/^(init|backup): /);
    expect(refused.error).not.toContain('wrong-token');
  }, 120_000);

  it('forwards only with the one-run local credential and only the device’s own repository', async () => {
    const forwarder = new RepositoryForwarder({
      deviceId,
      upstream: new URL(options.repositoryUrl),
      fetchToken: async () => ({ token, expiresAt: new Date(Date.now() + 600_000) }),
    });
    const repository = await forwarder.start();
    try {
      const url = new URL(repository.replace(/^rest:/, ''));
      const credential = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
      const base = `http://${url.host}`;
      expect((await fetch(`${base}/${deviceId}/config`)).status).toBe(401);
      expect((await fetch(`${base}/${deviceId}/config`, { headers: { authorization: 'Basic cmVzdGljOndyb25n' } })).status).toBe(401);
      expect((await fetch(`${base}/${randomUUID()}/config`, { headers: { authorization: credential } })).status).toBe(403);
      expect((await fetch(`${base}/${deviceId}/config`, { method: 'HEAD', headers: { authorization: credential } })).status).toBe(200);
    } finally {
      await forwarder.stop();
    }
  });
});
