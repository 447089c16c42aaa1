// The backup server's /metrics on BACKUP_METRICS_LISTEN: real rclone and restic over the plain
// directory store (no root), then a scrape over HTTP.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackupServer, type BackupServer } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { DirectoryStorage } from '../src/storage/directory-storage.js';
import { captureLog, expectProcessesGone, makeTree, must, newDevice, raw, restic, tokenAuthority } from './restic-harness.js';

const authority = tokenAuthority();
const log = captureLog();
let dir: string;
let server: BackupServer;
let metricsUrl: string;

/** The value of the one sample `name{labels…}` of a text exposition (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0] === undefined ? undefined : Number(found[0].split(' ').at(-1));
}

async function scrape(): Promise<string> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xs-backup-metrics-'));
  const config = loadConfig({
    BACKUP_STORAGE_DIR: join(dir, 'store'),
    BACKUP_TOKEN_PUBLIC_KEYS: '/unused',
    BACKUP_LISTEN_PORT: '0',
    BACKUP_METRICS_LISTEN: '127.0.0.1:0',
  });
  server = await startBackupServer(config, {
    publicKeys: authority.publicKeys,
    log: log.logger,
    sink: { send: async () => {} },
    storage: new DirectoryStorage(join(dir, 'store')),
    startMaintenance: false,
  });
  metricsUrl = `http://127.0.0.1:${server.metricsPort}/metrics`;
});

afterAll(async () => {
  if (server) {
    const pids = [server.rclone.appendOnly.pid, server.rclone.full.pid];
    await server.stop();
    await expectProcessesGone(pids);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('backup server metrics', () => {
  it('counts requests by op and status, bytes in and out, and reports the pool from the capacity report', async () => {
    const device = newDevice();
    const src = join(dir, `src-${device}`);
    await makeTree(src, 512 * 1024);
    const append = { user: device, token: authority.issue(device, 'append') };
    must(await restic(server.port, append, ['init']), 'restic init');
    must(await restic(server.port, append, ['backup', src]), 'restic backup');
    const target = join(dir, `restore-${device}`);
    must(
      await restic(server.port, { user: device, token: authority.issue(device, 'read') }, ['restore', 'latest', '--target', target]),
      'restore',
    );
    // No token: refused before any operation is known.
    expect((await raw(server.port, 'GET', `/${device}/config`)).status).toBe(401);
    await server.maintenance.tick();

    const text = await scrape();
    expect(sample(text, 'xspectre_backup_requests_total', { op: 'append', status: '200' })).toBeGreaterThan(3);
    expect(sample(text, 'xspectre_backup_requests_total', { op: 'read', status: '200' })).toBeGreaterThan(1);
    expect(sample(text, 'xspectre_backup_requests_total', { op: 'none', status: '401' })).toBe(1);
    // The random half of the tree does not compress: at least that much went up, and came back down.
    expect(sample(text, 'xspectre_backup_received_bytes_total', { op: 'append' })).toBeGreaterThan(512 * 1024);
    expect(sample(text, 'xspectre_backup_sent_bytes_total', { op: 'read' })).toBeGreaterThan(512 * 1024);
    const size = sample(text, 'xspectre_backup_pool_bytes', { figure: 'size' })!;
    const free = sample(text, 'xspectre_backup_pool_bytes', { figure: 'free' })!;
    expect(size).toBeGreaterThan(0);
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(size);
    expect(sample(text, 'xspectre_backup_pool_bytes', { figure: 'used' })).toBeGreaterThan(0);
    expect(sample(text, 'xspectre_backup_devices')).toBe(1);
    expect(sample(text, 'xspectre_backup_capacity_report_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(sample(text, 'xspectre_backup_process_resident_memory_bytes')).toBeGreaterThan(0);
    // Request labels stay bounded: the device id never appears.
    expect(text).not.toContain(device);
  });

  it('serves /metrics only on its own listener', async () => {
    const front = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(front.status).toBeGreaterThanOrEqual(400);
    expect(await front.text()).not.toContain('xspectre_');
    expect((await fetch(metricsUrl.replace(/\/metrics$/, '/other'))).status).toBe(404);
  });

  it.skipIf(!existsSync('/usr/bin/promtool'))('is a valid exposition (promtool check metrics)', async () => {
    const result = await execa('/usr/bin/promtool', ['check', 'metrics'], { input: await scrape(), reject: false });
    // 3 = lint problems only; the only ones accepted are prom-client's default gauges named *_total.
    expect([0, 3], result.stdout + result.stderr).toContain(result.exitCode);
    const lint = `${result.stdout}${result.stderr}`.split('\n').filter(Boolean);
    expect(
      lint.filter((line) => !/^xspectre_backup_nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(line)),
    ).toEqual([]);
  });

  it('refuses a bad BACKUP_METRICS_LISTEN', () => {
    const base = { BACKUP_STORAGE_DIR: '/tmp/x', BACKUP_TOKEN_PUBLIC_KEYS: '/unused' };
    for (const bad of ['9465', '127.0.0.1:70000', 'http://127.0.0.1:9465']) {
      expect(() => loadConfig({ ...base, BACKUP_METRICS_LISTEN: bad }), bad).toThrow(ConfigError);
    }
    expect(loadConfig({ ...base, BACKUP_METRICS_LISTEN: '[::1]:9465' }).BACKUP_METRICS_LISTEN).toEqual({ host: '::1', port: 9465 });
  });
});
