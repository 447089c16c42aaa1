// The GMP client and collectScannerStats against the stand-in gvmd on a Unix socket in a temp
// dir (test/gvmd-standin): every version profile, every fault knob, and data minimisation.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ScannerStatsSchema, type ScannerStats } from '@xspectre/contracts';
import { collectScannerStats, ScannerStatsCache, type ScannerStatsOptions } from '../src/gmp/collect.js';
import { GmpConnection } from '../src/gmp/client.js';
import { GmpError } from '../src/gmp/errors.js';
import { gmpElement } from '../src/gmp/request.js';
import {
  DEFAULT_USERS,
  GVMD_PROFILES,
  makeFixture,
  SENSITIVE_STRINGS,
  startGvmdStandin,
  type GvmdStandin,
  type GvmdStandinOptions,
} from './gvmd-standin/index.js';

let dir: string;
let socketPath: string;
let standin: GvmdStandin | null = null;
const user = DEFAULT_USERS[0]!;
const NOW = new Date('2026-12-04T04:00:00Z');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xspectre-gvmd-'));
  socketPath = join(dir, 'gvmd.sock');
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(async () => {
  await standin?.close();
  standin = null;
});

const start = async (options: Partial<GvmdStandinOptions> = {}) => {
  standin = await startGvmdStandin({ socketPath, ...options });
  return standin;
};
const collect = (options: Partial<ScannerStatsOptions> = {}) =>
  collectScannerStats({
    socketPath,
    username: user.username,
    password: user.password,
    commandTimeoutMs: 2_000,
    now: () => NOW,
    ...options,
  });

/** Asserts the value passes the contract and names the failure code it expects. */
const expectFailure = (stats: ScannerStats, code: string) => {
  expect(ScannerStatsSchema.safeParse(stats).success).toBe(true);
  expect(stats.gmp.reachable).toBe(false);
  expect(stats.gmp.error?.code).toBe(code);
};

describe('collectScannerStats per gvmd version', () => {
  for (const profile of Object.values(GVMD_PROFILES)) {
    it(`gvmd ${profile.gvmdVersion} (GMP ${profile.gmpVersion})`, async () => {
      const gvmd = await start({ profile: profile.id });
      const stats = await collect();
      expect(ScannerStatsSchema.safeParse(stats).success).toBe(true);
      expect(stats.gmp).toMatchObject({ reachable: true, error: null, version: profile.gmpVersion });
      expect(stats.gmp.latencyMs).toBeGreaterThanOrEqual(0);
      expect(stats.gmp.features === null).toBe(profile.features === 'none');
      expect(stats.feeds.map((f) => f.type)).toEqual(['NVT', 'SCAP', 'CERT', 'GVMD_DATA']);
      expect(stats.feedOwnerSet).toBe(true);
      expect(stats.scanners.map((s) => [s.name, s.reachable, s.version])).toEqual([
        ['OpenVAS Default', true, 'OTP/2.0'],
        ['CVE', true, null],
        ['Remote sensor', true, '22.7.1'],
      ]);
      expect(stats.tasks).toHaveLength(5);
      expect(stats.tasks[0]).toMatchObject({
        name: 'Prüfung 🛰 Außenstelle',
        lastReport: {
          counts: { critical: profile.hasCritical ? 1 : null, high: 3, medium: 7, low: 2, log: 40, falsePositive: 0 },
          errorCount: 2,
        },
      });
      expect(stats.totals).toEqual({ tasks: 5, targets: 12, credentials: 4, reports: 4 });
      expect(stats.tasksTruncated).toBe(false);
      // get_features comes last: on 22.4 it ends the session, after everything was read.
      expect(gvmd.commands.at(-1)).toBe('get_features');
      expect(gvmd.commands.slice(0, 2)).toEqual(['get_version', 'authenticate']);
    });
  }
});

describe('paging', () => {
  it('reads 200 of 250 tasks in pages and says the list is cut', async () => {
    const gvmd = await start({ fixture: makeFixture(250) });
    const stats = await collect({ pageSize: 100, maxReportLookups: 3 });
    expect(stats.gmp.reachable).toBe(true);
    expect(stats.tasks).toHaveLength(200);
    expect(new Set(stats.tasks.map((t) => t.id)).size).toBe(200);
    expect(stats.tasks.at(-1)!.name).toBe('Weekly scan 200');
    expect(stats.totals.tasks).toBe(250);
    expect(stats.tasksTruncated).toBe(true);
    expect(gvmd.commands.filter((c) => c === 'get_tasks')).toHaveLength(2);
    // Error counts: at most 3 lookups this poll; the others wait.
    expect(gvmd.commands.filter((c) => c === 'get_reports')).toHaveLength(1 + 3);
    expect(stats.tasks.filter((t) => t.lastReport?.errorCount === 2)).toHaveLength(3);
  });

  it('follows gvmd’s own page size when it returns fewer rows than asked', async () => {
    const gvmd = await start({ fixture: makeFixture(75), faults: { maxRowsPerPage: 30 } });
    const stats = await collect({ pageSize: 100, maxReportLookups: 0 });
    expect(stats.tasks).toHaveLength(75);
    expect(stats.tasksTruncated).toBe(false);
    expect(gvmd.commands.filter((c) => c === 'get_tasks')).toHaveLength(3);
  });

  it('keeps finished reports’ error counts between polls', async () => {
    const gvmd = await start();
    const cache = new ScannerStatsCache();
    await collect({ cache });
    const before = gvmd.commands.filter((c) => c === 'get_reports').length;
    const second = await collect({ cache });
    // Only the totals query and the running task's report are asked again.
    expect(gvmd.commands.filter((c) => c === 'get_reports').length - before).toBe(2);
    expect(second.tasks.filter((t) => t.lastReport?.errorCount === 2)).toHaveLength(4);
  });
});

describe('faults', () => {
  it('slow gvmd: timeout', async () => {
    await start({ faults: { slowMs: 1_500, slowCommands: ['get_tasks'] } });
    const stats = await collect({ commandTimeoutMs: 5_000, commandTimeouts: { get_tasks: 300 } });
    expectFailure(stats, 'timeout');
    expect(stats.gmp.error?.message).toMatch(/get_tasks/);
    // Feeds and scanners were read before get_tasks, but a failed session sends no half-read parts.
    expect(stats.feeds).toEqual([]);
    expect(stats.scanners).toEqual([]);
    expect(stats.gmp.version).toBe('22.7');
  });

  it('a session slower than its own deadline: timeout, though each command was in time', async () => {
    await start({ faults: { slowMs: 120 } });
    const started = Date.now();
    const stats = await collect({ commandTimeoutMs: 2_000, sessionTimeoutMs: 500 });
    expectFailure(stats, 'timeout');
    expect(stats.gmp.error?.message).toMatch(/session took longer than 500 ms/);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('an answer cut in the middle, then the connection closed: protocol', async () => {
    await start({ faults: { truncate: 'get_tasks' } });
    const started = Date.now();
    const stats = await collect({ commandTimeoutMs: 5_000 });
    expectFailure(stats, 'protocol');
    expect(stats.gmp.error?.message).toMatch(/middle of an answer/);
    expect(Date.now() - started).toBeLessThan(2_000); // not waited out as a timeout
  });

  it('the connection closed without an answer: protocol', async () => {
    await start({ faults: { closeOn: 'get_feeds' } });
    expectFailure(await collect(), 'protocol');
  });

  it('every answer split at every byte: the same stats', async () => {
    await start({ profile: '24.2' });
    const whole = await collect();
    await standin!.close();
    await start({ profile: '24.2', faults: { splitEveryByte: true }, fixture: makeFixture(5) });
    const split = await collect({ commandTimeoutMs: 20_000 });
    expect(split.gmp.reachable).toBe(true);
    expect({ ...split, gmp: { ...split.gmp, latencyMs: 0 } }).toEqual({ ...whole, gmp: { ...whole.gmp, latencyMs: 0 } });
  });

  it('wrong password: auth_failed, and nothing else asked', async () => {
    const gvmd = await start();
    const stats = await collect({ password: 'wrong' });
    expectFailure(stats, 'auth_failed');
    expect(stats.gmp.version).toBe('22.7');
    expect(gvmd.commands).toEqual(['get_version', 'authenticate']);
  });

  it('an error answer split at every byte is still an answer, not a timeout', async () => {
    await start({ faults: { splitEveryByte: true } });
    const started = Date.now();
    expectFailure(await collect({ password: 'wrong', commandTimeoutMs: 10_000 }), 'auth_failed');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a command before authenticate: gvmd’s 400 and closed session, mapped to auth_failed at once', async () => {
    const gvmd = await start();
    const connection = await GmpConnection.connect({ socketPath });
    try {
      const err = await connection.send('get_tasks', gmpElement('get_tasks'), 5_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GmpError);
      expect((err as GmpError).code).toBe('auth_failed');
      expect((err as GmpError).status).toBe('400');
      expect(gvmd.answers.at(-1)).toContain('Only command GET_VERSION is allowed before AUTHENTICATE');
    } finally {
      connection.close();
    }
  });

  it('permission denied on get_tasks: permission, the other parts still read', async () => {
    await start({ users: [{ ...user, deny: ['get_tasks'] }] });
    const stats = await collect();
    expect(ScannerStatsSchema.safeParse(stats).success).toBe(true);
    expect(stats.gmp.reachable).toBe(true);
    expect(stats.gmp.error).toMatchObject({ code: 'permission' });
    expect(stats.tasks).toEqual([]);
    expect(stats.totals.tasks).toBeNull();
    expect(stats.feeds).toHaveLength(4);
    expect(stats.totals.targets).toBe(12);
  });

  it('permission denied on verify_scanner: reachability unknown, not down', async () => {
    await start({ users: [{ ...user, deny: ['verify_scanner'] }] });
    const stats = await collect();
    expect(stats.scanners.map((s) => s.reachable)).toEqual([null, null, null]);
  });

  it('syncing feeds', async () => {
    await start({ faults: { syncing: true } });
    const stats = await collect();
    expect(stats.feeds.map((f) => [f.type, f.isSyncing, f.syncingSince])).toEqual([
      ['NVT', true, null],
      ['SCAP', true, '2026-12-04T03:55:10.000Z'],
      ['CERT', true, '2026-12-04T03:55:10.000Z'],
      ['GVMD_DATA', true, '2026-12-04T03:55:10.000Z'],
    ]);
  });

  it('scanner down: scanners unreachable, the NVT feed says why', async () => {
    await start({ faults: { scannerDown: true } });
    const stats = await collect();
    expect(stats.gmp.reachable).toBe(true);
    expect(stats.scanners.map((s) => [s.name, s.reachable])).toEqual([
      ['OpenVAS Default', false],
      ['CVE', true],
      ['Remote sensor', false],
    ]);
    expect(stats.feeds[0]).toMatchObject({ type: 'NVT', version: null, syncError: 'Could not connect to scanner to get feed info' });
  });

  it('no socket: socket_missing', async () => {
    expectFailure(await collect({ socketPath: join(dir, 'absent.sock') }), 'socket_missing');
  });

  it('a path nothing listens on: refused', async () => {
    // connect(2) on a file that is not a listening socket (a stale socket file, or any file): ECONNREFUSED.
    const path = join(dir, 'stale.sock');
    await writeFile(path, '');
    try {
      expectFailure(await collect({ socketPath: path }), 'refused');
    } finally {
      await rm(path, { force: true });
    }
  });
});

describe('data minimisation', () => {
  it('sends no host, port, NVT name or result, though gvmd gave them to the client', async () => {
    const gvmd = await start({ profile: 'current' });
    const stats = await collect();
    expect(stats.gmp.reachable).toBe(true);
    const given = gvmd.answers.join('');
    const json = JSON.stringify(stats);
    for (const secret of SENSITIVE_STRINGS) {
      expect(given, `the fixture must serve ${secret}`).toContain(secret);
      expect(json, `stats must not contain ${secret}`).not.toContain(secret);
    }
  });
});
