// ZFS store under the front, on zfs-fuse: a pool on a file vdev with a unique name, served by a
// zfs-fuse daemon of this run's own in a private mount namespace (zfs-namespace.ts), stopped
// afterwards with the namespace. Needs root, zfs-fuse, rclone, restic and util-linux's
// unshare/nsenter; without them every test here FAILS.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { BackupCapacityReportSchema } from '@xspectre/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBackupServer, type BackupServer } from '../src/app.js';
import { collectCapacityReport } from '../src/capacity-report.js';
import { loadConfig } from '../src/config.js';
import { ZfsStorage } from '../src/storage/zfs-storage.js';
import { startZfsNamespace, type ZfsNamespace } from './zfs-namespace.js';
import {
  captureLog,
  expectProcessesGone,
  makeTree,
  must,
  newDevice,
  restic,
  snapshotIds,
  tokenAuthority,
  treeDigest,
} from './restic-harness.js';

const QUOTA = 24 * 1024 * 1024;
const IMAGE_QUOTA = 16 * 1024 * 1024;
const pool = `xsbk${randomBytes(3).toString('hex')}`;
const dataset = `${pool}/file-backups`;
const authority = tokenAuthority();
const log = captureLog();
let dir: string;
let ns: ZfsNamespace;
let poolCreated = false;
let server: BackupServer;
let storage: ZfsStorage;
let port: number;

const run = async (tool: 'zfs' | 'zpool', args: string[]) => {
  const file = ns.bin[tool];
  const r = await execa(file, args, { reject: false, stdin: 'ignore' });
  return { ok: r.exitCode === 0, out: `${String(r.stdout)}${String(r.stderr)}` };
};
const zfsOk = async (args: string[]) => {
  const r = await run('zfs', args);
  if (!r.ok) throw new Error(`zfs ${args.join(' ')}: ${r.out}`);
  return r.out;
};

/** The device's newest floor snapshot. */
async function latestFloorSnapshot(device: string): Promise<string> {
  const out = await zfsOk(['list', '-H', '-o', 'name', '-s', 'creation', '-t', 'snapshot', '-r', `${dataset}/${device}`]);
  const names = out.split('\n').filter((n) => n.includes('@xs-hourly-'));
  if (!names.length) throw new Error(`no floor snapshot of ${device}`);
  return names[names.length - 1]!;
}

async function backedUpDevice(size = 512 * 1024) {
  const device = newDevice();
  const src = join(dir, `src-${device}`);
  await makeTree(src, size);
  const append = { user: device, token: authority.issue(device, 'append') };
  must(await restic(port, append, ['init']), 'restic init');
  must(await restic(port, append, ['backup', src]), 'restic backup');
  return { device, src, append, read: () => ({ user: device, token: authority.issue(device, 'read') }) };
}

async function restoredDigest(
  device: string,
  src: string,
  auth: { user: string; token: string },
  snapshot = 'latest',
  extra: string[] = [],
) {
  const target = join(dir, `restore-${device}-${randomBytes(3).toString('hex')}`);
  must(await restic(port, auth, ['restore', snapshot, '--target', target, ...extra]), 'restic restore');
  return treeDigest(join(target, src));
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the ZFS lab needs root');
  dir = await mkdtemp(join(tmpdir(), 'xs-backup-zfs-'));
  ns = await startZfsNamespace(dir);
  const vdev = join(dir, 'vdev');
  await writeFile(vdev, '');
  await truncate(vdev, 192 * 1024 * 1024);
  await mkdir(join(dir, 'mnt'));
  // cachefile=none: the pool is never imported again by a later zfs-fuse start.
  const created = await run('zpool', ['create', '-o', 'cachefile=none', '-m', join(dir, 'mnt'), pool, vdev]);
  if (!created.ok) throw new Error(`zpool create: ${created.out}`);
  poolCreated = true;

  storage = new ZfsStorage({
    dataset,
    deviceQuotaBytes: QUOTA,
    imageQuotaBytes: IMAGE_QUOTA,
    snapshotFloorDays: 14,
    zfsBinary: ns.bin.zfs,
    zpoolBinary: ns.bin.zpool,
  });
  // The front writes images itself (not through rclone): it reaches the namespace's mounts
  // through /proc/<pid>/root, as the test does.
  const imageDirectory = storage.imageDirectory.bind(storage);
  const imageDevices = storage.imageDevices.bind(storage);
  storage.imageDirectory = async (device, create) => {
    const path = await imageDirectory(device, create);
    return path && ns.hostPath(path);
  };
  storage.imageDevices = async () => (await imageDevices()).map((d) => ({ ...d, dir: ns.hostPath(d.dir) }));
  const config = loadConfig({
    BACKUP_ZFS_DATASET: dataset,
    BACKUP_DEVICE_QUOTA: '24M',
    BACKUP_RCLONE_BIN: ns.bin.rclone,
    BACKUP_ZFS_BIN: ns.bin.zfs,
    BACKUP_ZPOOL_BIN: ns.bin.zpool,
    BACKUP_TOKEN_PUBLIC_KEYS: '/unused',
    BACKUP_LISTEN_PORT: '0',
  });
  server = await startBackupServer(config, {
    publicKeys: authority.publicKeys,
    log: log.logger,
    sink: { send: async () => {} },
    storage,
    startMaintenance: false,
  });
  port = server.port;
});

// The server's own errors explain a failed test (a 503 from the front says only "could not").
let shown = 0;
afterEach(() => {
  for (const line of log.lines.slice(shown)) if (line.level === 'error') console.error(line.msg, JSON.stringify(line.fields));
  shown = log.lines.length;
});

afterAll(async () => {
  const problems: string[] = [];
  if (server) {
    const pids = [server.rclone.appendOnly.pid, server.rclone.full.pid];
    await server.stop().catch((err: unknown) => problems.push(`stop: ${String(err)}`));
    await expectProcessesGone(pids).catch((err: unknown) => problems.push(String(err)));
  }
  if (poolCreated && ns.daemonPid()) {
    let destroyed = false;
    for (let i = 0; i < 20 && !(destroyed = (await run('zpool', ['destroy', '-f', pool])).ok); i++) await sleep(500);
    if (!destroyed) problems.push(`zpool destroy ${pool} failed`);
  }
  // The daemon and its namespace go; so does any FUSE mount a crashed daemon left behind.
  if (ns) problems.push(...(await ns.stop()));
  if (dir) await rm(dir, { recursive: true, force: true });
  if (problems.length) throw new Error(problems.join('; '));
});

describe('backup server on ZFS (zfs-fuse)', () => {
  it('gives each device a dataset with its quota on the first append request', async () => {
    const { device } = await backedUpDevice();
    expect(await storage.deviceUsage(device)).toMatchObject({ deviceId: device, quotaBytes: QUOTA });
    // The repository is inside the dataset's own mount, not in its parent's directory.
    const mountpoint = (await zfsOk(['get', '-H', '-o', 'value', 'mountpoint', `${dataset}/${device}`])).trim();
    expect(mountpoint).toBe(join(dir, 'mnt', 'file-backups', device));
    expect((await zfsOk(['get', '-H', '-o', 'value', 'mounted', `${dataset}/${device}`])).trim()).toBe('yes');
    expect((await readdir(ns.hostPath(mountpoint))).sort()).toEqual(['config', 'data', 'index', 'keys', 'locks', 'snapshots']);
  });

  // The device's quota is full before the backup starts. A quota that fills in the middle of
  // an upload kills zfs-fuse itself: a FUSE write that ZFS accepts only in part (a short write,
  // what kernel ZFS returns at a quota) trips `VERIFY(uio.uio_resid == 0)` in zfs-fuse's
  // zfsfuse_write (zfs_operations.c:1435), SIGABRT. With no space left at all, every write
  // fails whole (EDQUOT) and the daemon lives: see the README's Test section.
  it('a full quota fails the backup with a clear error; earlier snapshots still pass restic check and restore', async () => {
    const { device, src, read } = await backedUpDevice();
    const before = await treeDigest(src);
    const [first] = await snapshotIds(port, read());
    const deviceDataset = `${dataset}/${device}`;
    // A snapshot commits the first backup's transaction group, so `used` is final; the quota
    // then ends where the data ends.
    await zfsOk(['snapshot', `${deviceDataset}@lab-txg-sync`]);
    const used = (await zfsOk(['get', '-Hp', '-o', 'value', 'used', deviceDataset])).trim();
    await zfsOk(['set', `quota=${used}`, deviceDataset]);
    expect((await zfsOk(['get', '-Hp', '-o', 'value', 'available', deviceDataset])).trim()).toBe('0');

    const more = join(dir, `more-${device}`);
    await makeTree(more, 2 * 1024 * 1024);
    const failed = await restic(port, { user: device, token: authority.issue(device, 'append') }, ['backup', more], 280_000);
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toMatch(/507 Insufficient Storage/);
    expect(log.lines.some((l) => l.msg === 'request' && l.fields?.device === device && l.fields?.status === 507)).toBe(true);
    expect(ns.daemonPid()).toBeDefined();

    // Not even a lock file fits any more: read without one.
    must(await restic(port, read(), ['check', '--no-lock']), 'restic check after a full quota');
    expect(await snapshotIds(port, read(), ['--no-lock'])).toEqual([first]);
    expect(await restoredDigest(device, src, read(), first, ['--no-lock'])).toEqual(before);

    // Room again (the operator raised the quota): the same backup goes through.
    await zfsOk(['set', `quota=${QUOTA}`, deviceDataset]);
    must(
      await restic(port, { user: device, token: authority.issue(device, 'append') }, ['backup', more]),
      'restic backup after the quota was raised',
    );
    expect(await snapshotIds(port, read())).toHaveLength(2);
  }, 300_000);

  // The same with the pool full instead: whatever the pool has left is reserved for another
  // dataset (zfs-fuse would die if the pool ran out in the middle of a write, as above).
  it('a full pool fails the backup with a clear error; earlier snapshots still pass restic check', async () => {
    const { device, src, read } = await backedUpDevice();
    const before = await treeDigest(src);
    const [first] = await snapshotIds(port, read());
    const deviceDataset = `${dataset}/${device}`;
    const filler = `${pool}/lab-filler`;
    // Never mounted: nothing can hold it busy when it goes.
    await zfsOk(['create', '-o', 'mountpoint=none', filler]);
    // Each snapshot commits a transaction group: what the tests before freed is accounted for
    // before the reservation takes all that is left.
    for (const n of [1, 2, 3]) await zfsOk(['snapshot', `${deviceDataset}@lab-txg-sync-${n}`]);
    const available = async (name: string) => Number((await zfsOk(['get', '-Hp', '-o', 'value', 'available', name])).trim());
    try {
      // All the pool has left (the filler has no quota); then, since the reservation covers the
      // filler's own few blocks too, what the device can still write, until that is nothing.
      let reserved = await available(filler);
      await zfsOk(['set', `reservation=${reserved}`, filler]);
      for (let i = 0, left = await available(deviceDataset); left > 0 && i < 5; i++, left = await available(deviceDataset)) {
        reserved += left;
        await zfsOk(['set', `reservation=${reserved}`, filler]);
      }
      expect(await available(deviceDataset)).toBe(0);

      const more = join(dir, `more-${device}`);
      await makeTree(more, 2 * 1024 * 1024);
      const failed = await restic(port, { user: device, token: authority.issue(device, 'append') }, ['backup', more], 280_000);
      expect(failed.exitCode).not.toBe(0);
      expect(failed.stderr).toMatch(/507 Insufficient Storage/);
      expect(ns.daemonPid()).toBeDefined();
      must(await restic(port, read(), ['check', '--no-lock']), 'restic check after a full pool');
      expect(await snapshotIds(port, read(), ['--no-lock'])).toEqual([first]);
      expect(await restoredDigest(device, src, read(), first, ['--no-lock'])).toEqual(before);
    } finally {
      for (let i = 0; i < 20 && !(await run('zfs', ['destroy', filler])).ok; i++) await sleep(500);
    }
    expect(await zfsOk(['list', '-H', '-o', 'name', '-r', pool])).not.toContain(filler);
    must(
      await restic(port, { user: device, token: authority.issue(device, 'append') }, ['backup', join(dir, `more-${device}`)]),
      'restic backup with room again',
    );
  }, 300_000);

  it('a stolen prune token deleting every snapshot loses nothing the floor snapshot holds', async () => {
    const { device, src, read } = await backedUpDevice();
    const before = await treeDigest(src);
    const round = await storage.snapshotRound(new Date());
    expect(round.failed).toEqual([]);
    const floor = await latestFloorSnapshot(device);

    const stolen = { user: device, token: authority.issue(device, 'prune') };
    const ids = await snapshotIds(port, stolen);
    must(await restic(port, stolen, ['forget', ...ids, '--prune']), 'forget everything');
    expect(await snapshotIds(port, read())).toEqual([]);

    // The operator's recovery: roll the dataset back to its newest floor snapshot.
    await zfsOk(['rollback', '-r', floor]);
    expect(await snapshotIds(port, read())).toEqual(ids);
    must(await restic(port, read(), ['check']), 'restic check after rollback');
    expect(await restoredDigest(device, src, read())).toEqual(before);
  }, 180_000);

  it('forged snapshots that make retention forget the real ones are covered by the floor too', async () => {
    const { device, src, append, read } = await backedUpDevice();
    const before = await treeDigest(src);
    const [real] = await snapshotIds(port, read());
    await storage.snapshotRound(new Date());
    const floor = await latestFloorSnapshot(device);

    // With only an append token, an attacker adds newer, empty snapshots of the same host and
    // path (restic groups retention by host and paths)...
    await rename(src, `${src}.real`);
    await mkdir(src);
    for (const day of ['2030-01-01 00:00:00', '2030-01-02 00:00:00']) {
      must(await restic(port, append, ['backup', '--time', day, src]), 'forged backup');
    }
    await rm(src, { recursive: true });
    await rename(`${src}.real`, src);
    // ...and the API's own retention run (prune token) keeps the newest and forgets the real one.
    must(
      await restic(port, { user: device, token: authority.issue(device, 'prune') }, ['forget', '--keep-last', '2', '--prune']),
      'retention',
    );
    expect(await snapshotIds(port, read())).not.toContain(real);

    await zfsOk(['rollback', '-r', floor]);
    expect(await snapshotIds(port, read())).toEqual([real]);
    expect(await restoredDigest(device, src, read(), real)).toEqual(before);
  }, 180_000);

  it('destroys only its own snapshots older than the floor, and keeps the newest', async () => {
    const { device } = await backedUpDevice(64 * 1024);
    await zfsOk(['snapshot', `${dataset}/${device}@manual-keep`]);
    const first = await storage.snapshotRound(new Date());
    const mine = first.created.find((n) => n.startsWith(`${dataset}/${device}@`))!;
    expect(mine).toMatch(/@xs-hourly-\d{8}T\d{6}Z$/);
    // Fifteen days later by the clock of the round: the first snapshot is past the 14-day floor.
    const later = await storage.snapshotRound(new Date(Date.now() + 15 * 86_400_000));
    expect(later.destroyed).toContain(mine);
    const left = await zfsOk(['list', '-H', '-o', 'name', '-t', 'snapshot', '-r', `${dataset}/${device}`]);
    expect(left).toContain(`${dataset}/${device}@manual-keep`);
    expect(left).not.toContain(mine);
    expect(left.split('\n').filter((n) => n.includes('@xs-hourly-'))).toHaveLength(1);
  }, 120_000);

  it('gives each device an image dataset with its quota; a full image quota answers 507 and the upload resumes after it is raised', async () => {
    const device = newDevice();
    const imageName = '2026-12-05T030000Z';
    const body = randomBytes(3 * 1024 * 1024);
    const sha = createHash('sha256').update(body).digest('hex');
    const basic = (op: 'image-append' | 'image-read') =>
      `Basic ${Buffer.from(`${device}:${authority.issue(device, op)}`).toString('base64')}`;
    const append = basic('image-append');
    const base = `http://127.0.0.1:${port}/disk-images/${device}`;
    const created = await fetch(`${base}/uploads`, {
      method: 'POST',
      headers: { authorization: append, 'content-type': 'application/json' },
      body: JSON.stringify({ imageName }),
    });
    expect(created.status).toBe(201);
    const { uploadId } = (await created.json()) as { uploadId: string };
    const imageDataset = `${pool}/disk-images/${device}`;
    expect((await zfsOk(['get', '-Hp', '-o', 'value', 'quota', imageDataset])).trim()).toBe(String(IMAGE_QUOTA));
    const mountpoint = (await zfsOk(['get', '-H', '-o', 'value', 'mountpoint', imageDataset])).trim();
    expect(mountpoint).toBe(join(dir, 'mnt', 'disk-images', device));

    const patch = (offset: number, chunk: Buffer) =>
      fetch(`${base}/uploads/${uploadId}`, {
        method: 'PATCH',
        headers: { authorization: append, 'content-type': 'application/octet-stream', 'upload-offset': String(offset) },
        body: chunk,
      });
    expect((await patch(0, body.subarray(0, 1024 * 1024))).status).toBe(204);

    // Fill the quota to exactly what is used (a snapshot commits the transaction group first):
    // every further write fails whole with EDQUOT (zfs-fuse dies on a write that only partly fits).
    await zfsOk(['snapshot', `${imageDataset}@lab-txg-sync`]);
    const used = (await zfsOk(['get', '-Hp', '-o', 'value', 'used', imageDataset])).trim();
    await zfsOk(['set', `quota=${used}`, imageDataset]);
    const full = await patch(1024 * 1024, body.subarray(1024 * 1024));
    expect(full.status).toBe(507);
    expect(await full.text()).toMatch(/insufficient storage/);
    const kept = Number(full.headers.get('upload-offset'));
    expect(kept).toBeGreaterThanOrEqual(1024 * 1024);
    const head = await fetch(`${base}/uploads/${uploadId}`, { method: 'HEAD', headers: { authorization: append } });
    expect(Number(head.headers.get('upload-offset'))).toBe(kept);
    expect(ns.daemonPid()).toBeDefined();

    // Room again: resume from the kept offset and publish.
    await zfsOk(['destroy', `${imageDataset}@lab-txg-sync`]);
    await zfsOk(['set', `quota=${IMAGE_QUOTA}`, imageDataset]);
    expect((await patch(kept, body.subarray(kept))).status).toBe(204);
    const metadata = {
      deviceId: device,
      imageName,
      disks: [{ name: 'sda', model: 'lab', sizeBytes: 8 * 1024 * 1024, partitionTable: { type: 'none', partitions: [] }, sha256Raw: sha }],
      sha256Compressed: sha,
      compressedBytes: body.length,
      rawBytes: 8 * 1024 * 1024,
      startedAt: '2026-12-05T03:00:00Z',
      finishedAt: '2026-12-05T03:01:00Z',
      durationSeconds: 60,
      tools: { zstd: 'v1.5.4', agent: 'lab' },
    };
    const done = await fetch(`${base}/uploads/${uploadId}/complete`, {
      method: 'POST',
      headers: { authorization: append, 'content-type': 'application/json' },
      body: JSON.stringify({ sha256Compressed: sha, compressedBytes: body.length, metadata }),
    });
    expect(done.status, await done.clone().text()).toBe(201);
    expect((await readdir(ns.hostPath(mountpoint))).sort()).toEqual(['.uploads', `${imageName}.img.zst`, `${imageName}.metadata.json`]);
    const download = await fetch(`${base}/${imageName}.img.zst`, { headers: { authorization: basic('image-read') } });
    expect(
      createHash('sha256')
        .update(Buffer.from(await download.arrayBuffer()))
        .digest('hex'),
    ).toBe(sha);
  }, 120_000);

  it('scrubs the pool when due and reports capacity, quotas and the scrub result', async () => {
    // The maintenance tick starts the first scrub: none has run on this new pool.
    await server.maintenance.tick();
    expect(log.lines.some((l) => l.msg === 'scrub started')).toBe(true);
    let scrub = await storage.scrubStatus();
    for (let i = 0; i < 100 && scrub.state === 'in_progress'; i++) {
      await sleep(200);
      scrub = await storage.scrubStatus();
    }
    expect(scrub).toMatchObject({ state: 'finished', errors: 0 });
    const report = await collectCapacityReport(storage);
    expect(BackupCapacityReportSchema.parse(report)).toEqual(report);
    expect(report).toMatchObject({ store: 'zfs', pool: { name: pool }, lastScrub: { state: 'finished', errors: 0 } });
    expect(report.pool.freeBytes).toBeGreaterThan(0);
    expect(report.devices.length).toBeGreaterThanOrEqual(1);
    for (const d of report.devices) expect(d.quotaBytes).toBe(QUOTA);
  }, 60_000);
});
