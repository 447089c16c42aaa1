import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sampleAck } from '../test/fixtures.js';
import { INITIAL_STATE, loadOrCreateInstallationSalt, recordAck, SALT_FILE, STATE_FILE, StateStore, takeSequence } from './state.js';

describe('state', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts at sequence 0 without a state file', async () => {
    expect((await new StateStore(join(dir, 'new')).load()).state).toEqual(INITIAL_STATE);
  });

  it('keeps the sequence across restarts (new store instances), atomically, with mode 0600', async () => {
    const first = new StateStore(dir);
    let { state } = await first.load();
    for (let i = 0; i < 3; i++) {
      state = takeSequence(state);
      await first.save(state);
    }
    const restarted = new StateStore(dir);
    const loaded = (await restarted.load()).state;
    expect(loaded.sequence).toBe(3);
    await restarted.save(takeSequence(loaded));
    expect((await new StateStore(dir).load()).state.sequence).toBe(4);
    expect((await stat(join(dir, STATE_FILE))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual([STATE_FILE]); // no temp files left behind
  });

  it('records acknowledgements and jumps past a sequence the API has already seen', () => {
    const at = new Date('2025-02-03T04:05:06.000Z');
    const after = recordAck({ sequence: 7, lastAck: null }, 7, sampleAck({ lastSequence: 7 }), at);
    expect(after).toEqual({ sequence: 7, lastAck: { sequence: 7, at: at.toISOString(), serverTime: sampleAck().serverTime } });
    expect(recordAck({ sequence: 1, lastAck: null }, 1, sampleAck({ lastSequence: 57, duplicates: 1, accepted: 0 }), at).sequence).toBe(57);
  });

  it('moves an unreadable state file aside and starts over', async () => {
    await writeFile(join(dir, STATE_FILE), '{"sequence": "x"');
    const loaded = await new StateStore(dir).load();
    expect(loaded.state).toEqual(INITIAL_STATE);
    expect(loaded.warning).toMatch(/moved to/);
    expect((await readdir(dir)).some((name) => name.startsWith(`${STATE_FILE}.corrupt-`))).toBe(true);
  });

  it('peek never repairs', async () => {
    await writeFile(join(dir, STATE_FILE), 'garbage');
    expect(await new StateStore(dir).peek()).toEqual(INITIAL_STATE);
    expect(await readFile(join(dir, STATE_FILE), 'utf8')).toBe('garbage');
  });

  it('creates the installation salt once, with mode 0600', async () => {
    const salt = await loadOrCreateInstallationSalt(join(dir, 'state'));
    expect(salt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await loadOrCreateInstallationSalt(join(dir, 'state'))).toBe(salt);
    expect((await stat(join(dir, 'state', SALT_FILE))).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'state'))).toEqual([SALT_FILE]);
  });

  it('rejects a damaged salt file instead of silently replacing it', async () => {
    await writeFile(join(dir, SALT_FILE), 'short\n');
    await expect(loadOrCreateInstallationSalt(dir)).rejects.toThrow(/installation salt/);
  });
});
