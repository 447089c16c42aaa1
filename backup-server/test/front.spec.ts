// The front with a plain directory store, real rclone and real restic (no root needed). Each
// test makes its own device, so a failure in one does not hide the others.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackupServer, type BackupServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createFrontHandler } from '../src/front.js';
import { DirectoryStorage } from '../src/storage/directory-storage.js';
import {
  captureLog,
  expectProcessesGone,
  makeTree,
  must,
  newDevice,
  raw,
  restic,
  snapshotIds,
  tokenAuthority,
  treeDigest,
} from './restic-harness.js';

const authority = tokenAuthority();
const log = captureLog();
let dir: string;
let server: BackupServer;
let port: number;
const issued: string[] = [];

function token(device: string, op: 'append' | 'read' | 'prune', options?: { iat?: number; lifetime?: number }): string {
  const t = authority.issue(device, op, options);
  issued.push(t);
  return t;
}

/** A device with an initialised repository holding one backup of its own tree. */
async function deviceWithBackup(): Promise<{ device: string; src: string; snapshot: string }> {
  const device = newDevice();
  const src = join(dir, `src-${device}`);
  await makeTree(src, 256 * 1024);
  const auth = { user: device, token: token(device, 'append') };
  must(await restic(port, auth, ['init']), 'restic init');
  must(await restic(port, auth, ['backup', src]), 'restic backup');
  const [snapshot] = await snapshotIds(port, { user: device, token: token(device, 'read') });
  return { device, src, snapshot: snapshot! };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xs-backup-front-'));
  const config = loadConfig({ BACKUP_STORAGE_DIR: join(dir, 'store'), BACKUP_TOKEN_PUBLIC_KEYS: '/unused', BACKUP_LISTEN_PORT: '0' });
  server = await startBackupServer(config, {
    publicKeys: authority.publicKeys,
    log: log.logger,
    sink: { send: async () => {} },
    storage: new DirectoryStorage(join(dir, 'store')),
    startMaintenance: false,
  });
  port = server.port;
});

afterAll(async () => {
  if (server) {
    const pids = [server.rclone.appendOnly.pid, server.rclone.full.pid];
    await server.stop();
    await expectProcessesGone(pids);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('backup front (directory store)', () => {
  it('backs up with an append token and restores byte for byte with a read token', async () => {
    const { device, src } = await deviceWithBackup();
    const target = join(dir, `restore-${device}`);
    must(await restic(port, { user: device, token: token(device, 'read') }, ['restore', 'latest', '--target', target]), 'restic restore');
    expect(await treeDigest(join(target, src))).toEqual(await treeDigest(src));
    expect(Object.keys(await treeDigest(src))).toHaveLength(3);
  });

  it('an append token cannot delete or rewrite: restic forget fails and the snapshot stays', async () => {
    const { device, snapshot } = await deviceWithBackup();
    const append = { user: device, token: token(device, 'append') };
    const forget = await restic(port, append, ['forget', snapshot]);
    expect(forget.exitCode).not.toBe(0);
    expect(forget.stderr).toMatch(/403|Forbidden/);
    expect(await snapshotIds(port, { user: device, token: token(device, 'read') })).toEqual([snapshot]);
    // The same one request at a time: deleting is refused by the front, overwriting by the append-only rclone.
    expect((await raw(port, 'DELETE', `/${device}/snapshots/${snapshot}`, append)).status).toBe(403);
    expect((await raw(port, 'POST', `/${device}/config`, append, 'overwritten')).status).toBe(403);
    expect((await raw(port, 'POST', `/${device}/snapshots/${snapshot}`, append, 'forged')).status).toBe(403);
    must(await restic(port, { user: device, token: token(device, 'read') }, ['check']), 'restic check');
  }, 240_000);

  it('a read token restores but cannot write anything but locks', async () => {
    const { device, snapshot } = await deviceWithBackup();
    const read = { user: device, token: token(device, 'read') };
    // restic itself would retry a refused upload for most of a minute; one request says the same.
    expect((await raw(port, 'DELETE', `/${device}/snapshots/${snapshot}`, read)).status).toBe(403);
    expect((await raw(port, 'POST', `/${device}/data/${'c'.repeat(64)}`, read, 'x')).status).toBe(403);
    expect((await raw(port, 'POST', `/${device}/?create=true`, read)).status).toBe(403);
    expect((await raw(port, 'POST', `/${device}/locks/${'d'.repeat(64)}`, read, 'lock')).status).toBe(200);
    expect((await raw(port, 'DELETE', `/${device}/locks/${'d'.repeat(64)}`, read)).status).toBe(200);
    expect(await snapshotIds(port, read)).toEqual([snapshot]);
  });

  it('refuses an expired token with 401', { timeout: 120_000 }, async () => {
    const { device } = await deviceWithBackup();
    const expired = token(device, 'read', { iat: Math.floor(Date.now() / 1000) - 700, lifetime: 600 });
    const run = await restic(port, { user: device, token: expired }, ['snapshots']);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(/401/);
    expect(await raw(port, 'GET', `/${device}/config`, { user: device, token: expired })).toEqual({
      status: 401,
      text: 'backup token expired\n',
    });
    expect((await raw(port, 'GET', `/${device}/config`)).status).toBe(401);
  });

  it("refuses another device's token with 403, however it is presented", { timeout: 120_000 }, async () => {
    const { device } = await deviceWithBackup();
    const other = newDevice();
    const otherToken = token(other, 'prune');
    // The other device's own name as user, our repository in the path.
    const run = await restic(port, { user: other, token: otherToken, repoDevice: device }, ['snapshots']);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(/403/);
    // Our name as user, the other device's token.
    expect((await raw(port, 'GET', `/${device}/config`, { user: device, token: otherToken })).status).toBe(403);
    expect((await raw(port, 'DELETE', `/${device}/keys/${'a'.repeat(64)}`, { user: other, token: otherToken })).status).toBe(403);
  });

  it('a prune token forgets and prunes', async () => {
    const { device, src, snapshot: first } = await deviceWithBackup();
    await makeTree(src, 128 * 1024);
    must(await restic(port, { user: device, token: token(device, 'append') }, ['backup', src]), 'second backup');
    const prune = { user: device, token: token(device, 'prune') };
    expect(await snapshotIds(port, prune)).toHaveLength(2);
    must(await restic(port, prune, ['forget', first, '--prune']), 'restic forget --prune');
    const left = await snapshotIds(port, prune);
    expect(left).toHaveLength(1);
    expect(left).not.toContain(first);
    must(await restic(port, prune, ['check']), 'restic check');
  });

  it('logs requests without tokens, and rclone answers only the front', async () => {
    expect(log.lines.some((l) => l.msg === 'request' && l.fields?.status === 200)).toBe(true);
    const text = log.text();
    for (const t of issued) expect(text).not.toContain(t.split('.')[2]);
    // Straight to the rclone instances, without the front's internal credential.
    for (const instance of [server.rclone.appendOnly, server.rclone.full]) {
      const res = await fetch(`http://127.0.0.1:${instance.port}/${newDevice()}/config`);
      expect(res.status).toBe(401);
    }
  });

  it('refuses paths outside the restic layout and methods restic never uses', async () => {
    const device = newDevice();
    const auth = { user: device, token: token(device, 'prune') };
    expect((await raw(port, 'GET', `/${device}/../x/config`, auth)).status).toBe(404);
    expect((await raw(port, 'PUT', `/${device}/config`, auth, 'x')).status).toBe(405);
    expect((await raw(port, 'GET', `/${device}/config?x=1`, auth)).status).toBe(400);
  });
});

describe('backup front, 507 on a full store', () => {
  it('turns an upload that failed for want of space into 507, and passes other 500s on', async () => {
    const device = newDevice();
    let available = 0;
    // A stand-in rclone that fails every write the way rclone does (bare 500).
    const upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(500).end('Internal Server Error'));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const storage = new DirectoryStorage(join(dir, 'unused'));
    storage.ensureDevice = async () => {};
    storage.deviceUsage = async (id) => ({ deviceId: id, usedBytes: 1, availableBytes: available, quotaBytes: 2, snapshotCount: 0 });
    const front = createServer(
      createFrontHandler({
        publicKeys: () => authority.publicKeys,
        storage,
        upstreams: {
          'append-only': { port: upstreamPort, authorization: 'Basic eDp5' },
          full: { port: upstreamPort, authorization: 'Basic eDp5' },
        },
        log: log.logger,
        logRequests: true,
      }),
    );
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const frontPort = (front.address() as AddressInfo).port;
    try {
      const auth = { user: device, token: token(device, 'append') };
      const upload = () => raw(frontPort, 'POST', `/${device}/data/${'e'.repeat(64)}`, auth, 'x'.repeat(4096));
      expect(await upload()).toEqual({
        status: 507,
        text: "insufficient storage: this device's backup quota or the backup pool is full\n",
      });
      available = 10 * 1024 * 1024;
      expect((await upload()).status).toBe(500);
    } finally {
      front.closeAllConnections();
      upstream.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});
