import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandKeyId } from '@xspectre/contracts/command-signature';
import { COMMAND_KEY_ID, COMMAND_KEY_PEM, CREDENTIAL, sampleConfig } from '../test/fixtures.js';
import { loadManagedFile, MANAGED_FILE, ManagedSettings } from './managed.js';

const warnings: string[] = [];
const log = { warn: (msg: string) => void warnings.push(msg) };

function newPinnedKey() {
  const { publicKey } = generateKeyPairSync('ed25519');
  return { keyId: commandKeyId(publicKey), publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

describe('managed.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-managed-'));
    warnings.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('absent: agent.conf applies as it is, nothing written, no warning', async () => {
    const managed = await ManagedSettings.open(dir, sampleConfig(), log);
    expect(managed.config.deviceCredential).toBe(CREDENTIAL);
    expect(managed.config.heartbeatIntervalSeconds).toBe(30);
    expect(managed.config.commandSigningKeys).toEqual([{ keyId: COMMAND_KEY_ID, publicKeyPem: COMMAND_KEY_PEM }]);
    expect(managed.heartbeatIntervalOverride).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('wins over agent.conf for the settings it holds, and only for those', async () => {
    const extra = newPinnedKey();
    const file = {
      v: 1,
      deviceCredential: 'dc_managed_credential_0123456789',
      heartbeatIntervalSeconds: 120,
      watchUnits: ['nginx.service'],
      commandSigningKeys: [{ keyId: COMMAND_KEY_ID, publicKeyPem: COMMAND_KEY_PEM }, extra],
    };
    await writeFile(join(dir, MANAGED_FILE), JSON.stringify(file));
    const managed = await ManagedSettings.open(dir, sampleConfig({ watchUnits: ['ssh.service'] }), log);
    expect(managed.config).toMatchObject({
      deviceCredential: file.deviceCredential,
      heartbeatIntervalSeconds: 120,
      watchUnits: ['nginx.service'],
      commandSigningKeys: file.commandSigningKeys,
      // Not managed: agent.conf's.
      deviceId: sampleConfig().deviceId,
      apiUrl: sampleConfig().apiUrl,
    });
    expect(managed.heartbeatIntervalOverride).toBe(120);
  });

  it('is written atomically with mode 0600 and applied at once through the live view', async () => {
    const managed = await ManagedSettings.open(dir, sampleConfig(), log);
    const view = managed.config;
    const keys = view.commandSigningKeys;
    const extra = newPinnedKey();
    await managed.update((f) => ({ ...f, heartbeatIntervalSeconds: 15, commandSigningKeys: [...keys, extra] }));
    expect((await stat(join(dir, MANAGED_FILE))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual([MANAGED_FILE]); // no temp file left behind
    expect(JSON.parse(await readFile(join(dir, MANAGED_FILE), 'utf8'))).toMatchObject({
      v: 1,
      enrolledAt: sampleConfig().enrolledAt,
      heartbeatIntervalSeconds: 15,
    });
    // The same objects the loops hold see the change: the array is changed in place.
    expect(view.heartbeatIntervalSeconds).toBe(15);
    expect(keys.map((k) => k.keyId)).toEqual([COMMAND_KEY_ID, extra.keyId]);
    // And the next start reads it back.
    const again = await ManagedSettings.open(dir, sampleConfig(), log);
    expect(again.config.heartbeatIntervalSeconds).toBe(15);
    expect(again.pinnedKeys.map((k) => k.keyId)).toEqual([COMMAND_KEY_ID, extra.keyId]);
  });

  it('refuses to write an invalid file and keeps the previous state', async () => {
    const managed = await ManagedSettings.open(dir, sampleConfig(), log);
    await expect(managed.update((f) => ({ ...f, heartbeatIntervalSeconds: 5 }))).rejects.toThrow();
    await expect(
      managed.update((f) => ({ ...f, commandSigningKeys: [{ keyId: '0000000000000000', publicKeyPem: COMMAND_KEY_PEM }] })),
    ).rejects.toThrow(/not the id of the key beside it/);
    expect(managed.config.heartbeatIntervalSeconds).toBe(30);
    expect(managed.pinnedKeys).toEqual(sampleConfig().commandSigningKeys);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a damaged file is logged (fields, never values) and ignored: agent.conf applies, no crash', async () => {
    const path = join(dir, MANAGED_FILE);
    for (const [content, expected] of [
      ['{"v":1,', /not valid JSON/],
      [
        JSON.stringify({ v: 1, deviceCredential: 'has a space', heartbeatIntervalSeconds: 1 }),
        /deviceCredential.*heartbeatIntervalSeconds/,
      ],
      [
        JSON.stringify({ v: 1, commandSigningKeys: [{ keyId: COMMAND_KEY_ID, publicKeyPem: 'nope' }] }),
        /commandSigningKeys\.0\.publicKeyPem/,
      ],
      [JSON.stringify({ v: 2 }), /invalid/],
      [JSON.stringify({ v: 1, surprise: true }), /invalid/],
    ] as const) {
      warnings.length = 0;
      await writeFile(path, content);
      const managed = await ManagedSettings.open(dir, sampleConfig(), log);
      expect(managed.config.deviceCredential).toBe(CREDENTIAL);
      expect(managed.config.commandSigningKeys).toEqual(sampleConfig().commandSigningKeys);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(expected);
      expect(warnings[0]).not.toContain('has a space');
    }
    // The next update replaces the damaged file with a valid one.
    const managed = await ManagedSettings.open(dir, sampleConfig(), log);
    await managed.update((f) => ({ ...f, heartbeatIntervalSeconds: 60 }));
    expect((await loadManagedFile(path)).file).toEqual({ v: 1, enrolledAt: sampleConfig().enrolledAt, heartbeatIntervalSeconds: 60 });
  });

  it('written for an earlier enrollment: ignored (enroll --force made a new credential and key list)', async () => {
    const managed = await ManagedSettings.open(dir, sampleConfig(), log);
    await managed.update((f) => ({ ...f, deviceCredential: 'dc_from_the_old_enrollment_000', heartbeatIntervalSeconds: 60 }));
    const enrolledAgain = sampleConfig({ enrolledAt: '2026-06-01T00:00:00.000Z', deviceCredential: 'dc_new_enrollment_credential_0' });
    const reopened = await ManagedSettings.open(dir, enrolledAgain, log);
    expect(reopened.config.deviceCredential).toBe('dc_new_enrollment_credential_0');
    expect(reopened.config.heartbeatIntervalSeconds).toBe(30);
    expect(warnings.some((w) => w.includes('earlier enrollment'))).toBe(true);
    // The next write is the new enrollment's.
    await reopened.update((f) => ({ ...f, heartbeatIntervalSeconds: 20 }));
    expect((await loadManagedFile(join(dir, MANAGED_FILE))).file).toEqual({
      v: 1,
      enrolledAt: enrolledAgain.enrolledAt,
      heartbeatIntervalSeconds: 20,
    });
  });

  it('keeps a credential rotation in progress only in a known shape', async () => {
    const managed = await ManagedSettings.open(dir, sampleConfig(), log);
    const commandId = '11111111-2222-4333-8444-555555555555';
    await managed.update((f) => ({ ...f, credentialRotation: { stage: 'generated', commandId, credential: 'dc_new' } }));
    expect(managed.current.credentialRotation).toEqual({ stage: 'generated', commandId, credential: 'dc_new' });
    await expect(managed.update((f) => ({ ...f, credentialRotation: { stage: 'switched', commandId } as never }))).rejects.toThrow(
      /previousCredential/,
    );
  });
});
