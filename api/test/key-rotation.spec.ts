import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandKeyId, parsePinnedPublicKey, verifyCommand, type PinnedCommandKey } from '@xspectre/contracts/command-signature';
import { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type LabHub } from './support/fleet.js';
import { stepUp } from './support/step-up.js';

interface Device {
  id: string;
  credential: string;
  pinned: PinnedCommandKey[];
}

/**
 * Command-key rotation announced by command: the new key is announced with a keys.pin signed by
 * the current key, which keeps signing until the grace period ends; devices verify every command
 * during the grace period with what they pinned.
 */
describe('command-signing key rotation', () => {
  let hub: LabHub;
  let api: TestApi;
  let sibling: TestApi;
  let admin: string;
  let organizationId: string;
  let siteId: string;

  const enroll = async (name: string): Promise<Device & { enrolledKeys: PinnedCommandKey[] }> => {
    const { enrolled, ...device } = await enrollDeviceAt(api, admin, { organizationId, siteId }, name);
    return { ...device, enrolledKeys: enrolled.commandSigningKeys };
  };
  const poll = async (device: Device, on: TestApi = api) => {
    const r = await on.request('GET', 'agent/commands?waitSeconds=0', { token: device.credential });
    expect(r.status, r.text).toBe(200);
    return r.body as {
      commands: Array<{ commandId: string; action: string; keyId: string; params: Record<string, string> }>;
      serverTime: string;
    };
  };
  const verify = (signed: unknown, device: Device, pinned = device.pinned) =>
    verifyCommand(signed, pinned, { deviceId: device.id, now: new Date() });
  const rotate = (body: unknown, token = admin) => api.request('POST', 'keys/command-signing/rotate', { token, body });
  /** What the agent does with a verified keys.pin (agent/src/commands/managed-actions.ts), and its report. */
  const pin = async (device: Device, command: { commandId: string; params: Record<string, string> }) => {
    expect(commandKeyId(parsePinnedPublicKey(command.params.publicKeyPem!))).toBe(command.params.keyId);
    device.pinned.push({ keyId: command.params.keyId!, publicKeyPem: command.params.publicKeyPem! });
    for (const status of ['running', 'succeeded'])
      expect(
        (await api.request('POST', `agent/commands/${command.commandId}/status`, { token: device.credential, body: { status } })).status,
      ).toBe(200);
  };

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    sibling = await TestApi.startSibling(api, { API_AGENT_SOURCE_CHECK: 'false' });
    admin = await api.adminToken();
    await stepUp(api, admin);
    ({ organizationId, siteId } = await createOrganizationSite(api, admin, 'Keys Co'));
  });
  afterAll(async () => {
    await sibling?.stop();
    await api?.stop();
    await hub?.stop();
  });

  it('is a Super Admin action with step-up and a bounded grace period', async () => {
    const soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    expect((await rotate({ graceHours: 24 }, soc)).status).toBe(403);
    const otherAdmin = await api.tokenFor((await api.createUser(admin, 'super_admin')).email);
    const noStepUp = await rotate({ graceHours: 24 }, otherAdmin);
    expect(noStepUp.body.code).toBe('AUTH_STEP_UP_REQUIRED');
    for (const body of [
      {},
      { graceHours: 0 },
      { graceHours: 721 },
      { graceHours: 1.5 },
      { graceHours: '24' },
      { graceHours: 24, now: true },
    ]) {
      const r = await rotate(body);
      expect([r.status, r.body.code], JSON.stringify(body)).toEqual([400, 'VALIDATION_FAILED']);
    }
    // Nothing was announced by the refused requests.
    expect((await enroll('keys-none')).enrolledKeys).toHaveLength(1);
  });

  it('announces the new key with a pin signed by the current key; commands verify with both during grace; the new key signs after it', async () => {
    const online = await enroll('keys-online');
    const missed = await enroll('keys-missed');
    const quarantined = await enroll('keys-quarantined');
    await api.sql.query(`UPDATE devices SET quarantined_at = now(), quarantine_reason = 'test' WHERE id = $1`, [quarantined.id]);
    const previousKeyId = online.pinned[0]!.keyId;

    const rotated = await rotate({ graceHours: 48 });
    expect(rotated.status, rotated.text).toBe(200);
    const { keyId, activatesAt } = rotated.body;
    expect(rotated.body.previousKeyId).toBe(previousKeyId);
    expect(keyId).not.toBe(previousKeyId);
    expect(Date.parse(activatesAt) - Date.now()).toBeGreaterThan(47 * 3_600_000);
    // Every active device not quarantined (the earlier tests' devices too).
    expect(rotated.body.devicesAnnounced).toBeGreaterThanOrEqual(2);
    const [row] = await api.auditRows(`action = 'keys.command_signing_rotate' AND result = 'success'`);
    expect(row).toMatchObject({ resource_id: keyId, user_email: expect.stringContaining('@') });
    expect(row.details).toMatchObject({ keyId, previousKeyId, graceHours: 48 });

    // A second rotation waits for this one.
    const again = await rotate({ graceHours: 1 });
    expect([again.status, again.body.code]).toEqual([409, 'KEY_ANNOUNCEMENT_PENDING']);

    // The online device gets its pin, signed with the key it pinned at enrollment.
    const pins = (await poll(online, sibling)).commands.filter((c) => c.action === 'keys.pin');
    expect(pins).toHaveLength(1);
    expect(pins[0]).toMatchObject({ keyId: previousKeyId, params: { keyId } });
    expect(verify(pins[0], online)).toMatchObject({ ok: true });
    await pin(online, pins[0]!);
    // Answered: no new pin at later polls.
    expect((await poll(online)).commands.filter((c) => c.action === 'keys.pin')).toEqual([]);

    // The quarantined device got none; the one that missed its pin (expired) gets a new one at its poll.
    expect((await api.sql.query(`SELECT 1 FROM commands WHERE device_id = $1`, [quarantined.id])).rowCount).toBe(0);
    await api.sql.query(`UPDATE commands SET status = 'expired', finished_at = now() WHERE device_id = $1 AND action = 'keys.pin'`, [
      missed.id,
    ]);
    const resent = (await poll(missed)).commands.filter((c) => c.action === 'keys.pin');
    expect(resent).toHaveLength(1);
    expect(verify(resent[0], missed)).toMatchObject({ ok: true });
    const resentRow = await api.auditRows(`user_email = 'system:key-rotation' AND resource_id = $1`, [missed.id]);
    expect(resentRow).toHaveLength(1);
    expect(resentRow[0].details).toMatchObject({ action: 'keys.pin', commandId: resent[0]!.commandId });
    // Until it answers, polls hand out that one again, never a second.
    expect((await poll(missed)).commands.filter((c) => c.action === 'keys.pin').map((c) => c.commandId)).toEqual([resent[0]!.commandId]);

    // A device enrolled during the announcement pins both, the signing key first.
    const late = await enroll('keys-late');
    expect(late.enrolledKeys.map((k) => k.keyId)).toEqual([previousKeyId, keyId]);

    // During grace every command is signed with the previous key: it verifies with the old list and with both.
    const restart = await api.request('POST', `devices/${online.id}/commands`, {
      token: admin,
      body: { action: 'service.restart', params: { unit: 'nginx.service' } },
    });
    expect(restart.body.keyId).toBe(previousKeyId);
    const during = (await poll(online)).commands.find((c) => c.commandId === restart.body.id);
    expect(verify(during, online)).toMatchObject({ ok: true });
    expect(verify(during, online, online.pinned.slice(0, 1))).toMatchObject({ ok: true });

    // The grace period ends (the key store's manifest moved to now, as time would): the new key signs.
    const manifestPath = join(api.config.API_KEY_STORE_DIR, 'command-signing', 'keys.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
      keys: Array<{ keyId: string; activeFrom: string; retiresAt: string | null }>;
    };
    const now = new Date(Date.now() - 1000).toISOString();
    for (const key of manifest.keys) {
      if (key.keyId === keyId) key.activeFrom = now;
      if (key.keyId === previousKeyId) key.retiresAt = now;
    }
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
    const after = await api.request('POST', `devices/${online.id}/commands`, {
      token: admin,
      body: { action: 'service.restart', params: { unit: 'nginx.service' } },
    });
    expect(after.body.keyId).toBe(keyId);
    const signedAfter = (await poll(online)).commands.find((c) => c.commandId === after.body.id);
    // The device that pinned it verifies; one that never did refuses it as an unknown key (it is enrolled again).
    expect(verify(signedAfter, online)).toMatchObject({ ok: true });
    expect(verify(signedAfter, online, online.pinned.slice(0, 1))).toEqual({ ok: false, reason: 'unknown_key' });
    // No announcement lasts: no more pins at polls, and the enroll answer lists the new key alone.
    expect((await poll(quarantined)).commands).toEqual([]);
    expect((await enroll('keys-after')).enrolledKeys.map((k) => k.keyId)).toEqual([keyId]);
  });
});
