import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NONCE_RETENTION_MARGIN_MS, NONCES_FILE, ReplayGuard, ReplayGuardFullError } from './replay-guard.js';

const SKEW = 30_000;
const T0 = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const nonce = (n: number) => n.toString(16).padStart(32, '0');
const expiresAt = (ms = 5 * 60_000) => at(ms).toISOString();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xspectre-nonces-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const open = async (now = T0, maxEntries?: number) =>
  (await ReplayGuard.open(dir, now, { maxClockSkewMs: SKEW, ...(maxEntries ? { maxEntries } : {}) })).guard;

describe('ReplayGuard', () => {
  it('tells new, redelivery (same id and nonce) and replay (nonce or id seen with another partner)', async () => {
    const guard = await open();
    expect(guard.check(id(1), nonce(1), T0)).toEqual({ kind: 'new' });
    await guard.record(id(1), nonce(1), expiresAt(), T0);
    expect(guard.check(id(1), nonce(1), T0)).toEqual({ kind: 'redelivery' });
    expect(guard.check(id(2), nonce(1), T0)).toEqual({ kind: 'replay' });
    expect(guard.check(id(1), nonce(2), T0)).toEqual({ kind: 'replay' });
    expect(guard.check(id(2), nonce(2), T0)).toEqual({ kind: 'new' });
  });

  it('keeps nonces across a restart (a real file, mode 0600, written atomically)', async () => {
    await (await open()).record(id(1), nonce(1), expiresAt(), T0);
    const file = join(dir, NONCES_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual([NONCES_FILE]); // no temp file left behind
    const reopened = await open(at(60_000));
    expect(reopened.check(id(2), nonce(1), at(60_000))).toEqual({ kind: 'replay' });
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ v: 1, entries: [{ nonce: nonce(1), commandId: id(1) }] });
  });

  it('keeps a nonce until its expiry + skew + margin, then drops it', async () => {
    const guard = await open();
    await guard.record(id(1), nonce(1), expiresAt(), T0);
    const keepUntil = 5 * 60_000 + SKEW + NONCE_RETENTION_MARGIN_MS;
    expect(await guard.prune(at(keepUntil - 1))).toBe(0);
    expect(guard.check(id(2), nonce(1), at(keepUntil - 1)).kind).toBe('replay');
    expect(await guard.prune(at(keepUntil))).toBe(1);
    expect(guard.size).toBe(0);
    expect((await open(at(keepUntil))).size).toBe(0);
  });

  it('refuses new commands at the cap instead of forgetting unexpired nonces', async () => {
    const guard = await open(T0, 3);
    for (let n = 1; n <= 3; n++) await guard.record(id(n), nonce(n), expiresAt(), T0);
    await expect(guard.record(id(4), nonce(4), expiresAt(), T0)).rejects.toBeInstanceOf(ReplayGuardFullError);
    for (let n = 1; n <= 3; n++) expect(guard.check(id(9), nonce(n), T0).kind).toBe('replay');
    expect(guard.check(id(4), nonce(4), T0).kind).toBe('new'); // not recorded
    // Once the oldest have expired there is room again.
    const later = at(5 * 60_000 + SKEW + NONCE_RETENTION_MARGIN_MS);
    await guard.record(id(4), nonce(4), at(later.getTime() - T0.getTime() + 5 * 60_000).toISOString(), later);
    expect(guard.size).toBe(1);
  });

  it('a damaged file: moved aside, and every command is refused until the lost nonces have expired', async () => {
    await writeFile(join(dir, NONCES_FILE), '{"v":1,"entries":[{"nonce":');
    const { guard, warning } = await ReplayGuard.open(dir, T0, { maxClockSkewMs: SKEW });
    expect(warning).toMatch(/was damaged \(moved to .*corrupt-\d+\): commands are refused until /);
    expect((await readdir(dir)).some((f) => f.startsWith(`${NONCES_FILE}.corrupt-`))).toBe(true);
    const check = guard.check(id(1), nonce(1), at(60_000));
    expect(check.kind).toBe('unavailable');
    // Still refused after a restart (the refusal is in the file), lifted after the window.
    const reopened = await open(at(60_000));
    expect(reopened.check(id(1), nonce(1), at(60_000)).kind).toBe('unavailable');
    const until = check.kind === 'unavailable' ? new Date(check.until) : T0;
    expect(until.getTime() - T0.getTime()).toBeGreaterThanOrEqual(5 * 60_000 + SKEW);
    expect(reopened.check(id(1), nonce(1), until)).toEqual({ kind: 'new' });
    await reopened.prune(until);
    expect(JSON.parse(await readFile(join(dir, NONCES_FILE), 'utf8'))).toEqual({ v: 1, entries: [] });
  });

  it('recording the same command twice keeps one entry', async () => {
    const guard = await open();
    await guard.record(id(1), nonce(1), expiresAt(), T0);
    await guard.record(id(1), nonce(1), expiresAt(), T0);
    expect(guard.size).toBe(1);
  });
});
