import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createPublicKey, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBackupToken } from '@xspectre/contracts/backup-token';
import { BackupEscrowService } from '../src/backups/backup-escrow.service.js';
import type { TestApi } from './support/harness.js';
import { stepUp } from './support/step-up.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type EnrolledDevice, type LabHub } from './support/fleet.js';

const run = promisify(execFile);

/**
 * The repository-password escrow (issue 15 item 4) with the real `age` CLI: the offline recovery
 * key a Super Admin sets, the escrows devices report (kept only to the current key), the audited
 * download decrypted offline, transfer keys, and restores of a dead device's backups onto new
 * hardware with read tokens for the source's repository only.
 */
describe('backup password escrow and restores onto new hardware', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let soc: string;
  let viewer: string;
  let dir: string;
  let where: { organizationId: string; siteId: string };
  let elsewhere: { organizationId: string; siteId: string };
  let device: EnrolledDevice;
  const escrow = () => api.app.get(BackupEscrowService, { strict: false });

  /** A fresh age identity: its file and its recipient (public key). */
  const keygen = async (name: string) => {
    const file = join(dir, name);
    await run('age-keygen', ['-o', file]);
    const recipient = /^# public key: (age1\S+)$/m.exec(await readFile(file, 'utf8'))![1]!;
    return { file, recipient };
  };
  const encrypt = async (recipient: string, plaintext: string) => {
    const input = join(dir, `plain-${randomBytes(4).toString('hex')}`);
    await writeFile(input, plaintext);
    return (await run('age', ['-r', recipient, '-a', input])).stdout;
  };
  const decrypt = async (identity: string, armored: string) => {
    const input = join(dir, `cipher-${randomBytes(4).toString('hex')}`);
    await writeFile(input, armored);
    return (await run('age', ['-d', '-i', identity, input])).stdout;
  };
  const putKey = (body: unknown, token = admin) => api.request('PUT', 'backups/recovery-key', { token, body });
  const reportTransferKey = (credential: string, body: unknown) =>
    api.request('POST', 'agent/backup-transfer-key', { token: credential, body });
  const tokenFor = (credential: string, body: unknown) => api.request('POST', 'agent/backup-tokens', { token: credential, body });

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    await stepUp(api, admin);
    soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    viewer = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    dir = await mkdtemp(join(tmpdir(), 'escrow-spec-'));
    where = await createOrganizationSite(api, admin, 'Escrow Co');
    elsewhere = await createOrganizationSite(api, admin, 'Other Co');
    device = await enrollDeviceAt(api, admin, where, 'escrow-1');
    expect((await api.request('PUT', `devices/${device.id}/backup-policy`, { token: admin, body: { mode: 'FILE' } })).status).toBe(200);
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sets the recovery key: Super Admin with step-up only, an age public key only, audited with the recipient', async () => {
    const initial = await api.request('GET', 'backups/recovery-key', { token: viewer });
    expect(initial.status, initial.text).toBe(200);
    expect(initial.body).toEqual({ recipient: null, setAt: null, setBy: null, devicesEscrowed: 0, devicesPending: 1 });
    const key = await keygen('recovery-1.key');

    for (const bad of [{ recipient: 'age1short' }, { recipient: 'ssh-ed25519 AAAA' }, { recipient: key.recipient, extra: 1 }, {}]) {
      const refused = await putKey(bad);
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expect(refused.body.detail, JSON.stringify(bad)).toMatch(/age X25519 public key|recipient|extra/);
    }
    const secret = (await readFile(key.file, 'utf8')).match(/AGE-SECRET-KEY-\S+/)![0];
    const privateKey = await putKey({ recipient: secret });
    expect([privateKey.status, privateKey.body.detail]).toEqual([400, expect.stringMatching(/age X25519 public key/)]);
    expect((await putKey({ recipient: key.recipient }, soc)).status).toBe(403);
    expect((await putKey({ recipient: key.recipient }, viewer)).status).toBe(403);
    // Another Super Admin, signed in but not stepped up: refused until a fresh TOTP code.
    const second = await api.tokenFor((await api.createUser(admin, 'super_admin')).email);
    const notStepped = await putKey({ recipient: key.recipient }, second);
    expect([notStepped.status, notStepped.body.code]).toEqual([403, 'AUTH_STEP_UP_REQUIRED']);
    expect((await api.request('GET', 'backups/recovery-key', { token: admin })).body.recipient).toBeNull();

    const set = await putKey({ recipient: key.recipient });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({
      recipient: key.recipient,
      setBy: expect.stringContaining('@'),
      devicesEscrowed: 0,
      devicesPending: 1,
    });
    const audit = await api.auditRows(`action = 'backup.recovery_key_set' AND result = 'success'`);
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toMatchObject({ recipient: key.recipient });
    expect(audit[0].details.previousRecipient).toBeUndefined();
  });

  it('asks a device to escrow until it has to the current key, keeps only escrows to the current key, and serves them for offline decryption', async () => {
    const key1 = await keygen('recovery-a.key');
    expect((await putKey({ recipient: key1.recipient })).status).toBe(200);
    expect(await escrow().recipientFor(device.id)).toBe(key1.recipient);

    const password = randomBytes(32).toString('base64url');
    const ciphertext = await encrypt(key1.recipient, password);
    expect(await escrow().recordFromResult(device.id, null, new Date())).toBe(false);
    expect(await escrow().recordFromResult(device.id, { recipient: key1.recipient, ciphertext }, new Date())).toBe(true);
    expect(await escrow().recipientFor(device.id)).toBeNull();
    expect((await api.request('GET', 'backups/recovery-key', { token: admin })).body).toMatchObject({
      devicesEscrowed: 1,
      devicesPending: 0,
    });

    // The download: Super Admin, decrypted offline to the same password; audited without the ciphertext.
    const got = await api.request('GET', `devices/${device.id}/backup-escrow`, { token: admin });
    expect(got.status, got.text).toBe(200);
    expect(got.body).toMatchObject({ deviceId: device.id, recipient: key1.recipient, ciphertext });
    expect(await decrypt(key1.file, got.body.ciphertext)).toBe(password);
    expect((await api.request('GET', `devices/${device.id}/backup-escrow`, { token: soc })).status).toBe(403);
    const reads = await api.auditRows(`action = 'backup.escrow_read' AND resource_id = $1`, [device.id]);
    expect(reads.map((r) => r.result)).toEqual(['success']);
    expect(reads[0].details).toMatchObject({ recipient: key1.recipient });
    expect(JSON.stringify(reads[0])).not.toContain('AGE ENCRYPTED');

    // A new key: the device is asked again; an escrow to the replaced key (a run queued before the change) is dropped.
    const key2 = await keygen('recovery-b.key');
    expect((await putKey({ recipient: key2.recipient })).status).toBe(200);
    const change = (await api.auditRows(`action = 'backup.recovery_key_set' AND result = 'success'`)).at(-1);
    expect(change.details).toMatchObject({ recipient: key2.recipient, previousRecipient: key1.recipient });
    expect(await escrow().recipientFor(device.id)).toBe(key2.recipient);
    expect((await api.request('GET', 'backups/recovery-key', { token: admin })).body).toMatchObject({
      recipient: key2.recipient,
      devicesEscrowed: 0,
      devicesPending: 1,
    });
    const late = await encrypt(key1.recipient, password);
    expect(await escrow().recordFromResult(device.id, { recipient: key1.recipient, ciphertext: late }, new Date())).toBe(false);
    // Until the device escrows to the new key, its escrow to the earlier one stays: for a device dead by then it is all there is.
    expect((await api.request('GET', `devices/${device.id}/backup-escrow`, { token: admin })).body.ciphertext).toBe(ciphertext);

    const fresh = await encrypt(key2.recipient, password);
    expect(await escrow().recordFromResult(device.id, { recipient: key2.recipient, ciphertext: fresh }, new Date())).toBe(true);
    expect(await escrow().recipientFor(device.id)).toBeNull();
    // A stale report arriving after the new escrow does not replace it either.
    expect(await escrow().recordFromResult(device.id, { recipient: key1.recipient, ciphertext: late }, new Date())).toBe(false);
    const now = await api.request('GET', `devices/${device.id}/backup-escrow`, { token: admin });
    expect(now.body.recipient).toBe(key2.recipient);
    expect(await decrypt(key2.file, now.body.ciphertext)).toBe(password);

    // A device that escrowed nothing: 404 with a code, and the attempt is audited.
    const other = await enrollDeviceAt(api, admin, where, 'escrow-none');
    const none = await api.request('GET', `devices/${other.id}/backup-escrow`, { token: admin });
    expect([none.status, none.body.code]).toEqual([404, 'BACKUP_ESCROW_NOT_FOUND']);
    expect((await api.auditRows(`action = 'backup.escrow_read' AND resource_id = $1`, [other.id])).map((r) => r.result)).toEqual([
      'failure',
    ]);
    const unknown = await api.request('GET', 'devices/00000000-0000-4000-8000-000000000000/backup-escrow', { token: admin });
    expect(unknown.body.code).toBe('DEVICE_NOT_FOUND');
  });

  it('stores the transfer key a device reports: idempotent, a new key replaces the old', async () => {
    const target = await enrollDeviceAt(api, admin, where, 'escrow-transfer');
    const read = () => api.request('GET', `devices/${target.id}/backup-transfer-key`, { token: admin });
    expect((await read()).body).toEqual({ deviceId: target.id, recipient: null, reportedAt: null });
    const first = await keygen('transfer-1.key');
    const reported = await reportTransferKey(target.credential, { recipient: first.recipient });
    expect(reported.status, reported.text).toBe(200);
    expect(reported.body).toMatchObject({ deviceId: target.id, recipient: first.recipient });
    const again = await reportTransferKey(target.credential, { recipient: first.recipient });
    expect(again.body.reportedAt).toBe(reported.body.reportedAt);
    const second = await keygen('transfer-2.key');
    expect((await reportTransferKey(target.credential, { recipient: second.recipient })).status).toBe(200);
    expect((await read()).body).toMatchObject({ deviceId: target.id, recipient: second.recipient });

    for (const bad of [{}, { recipient: 'AGE-SECRET-KEY-1XYZ' }, { recipient: second.recipient, deviceId: device.id }]) {
      const refused = await reportTransferKey(target.credential, bad);
      expect(refused.status, JSON.stringify(bad)).toBe(400);
    }
    // Operators do not report keys; reading one is backups.restore.
    expect((await reportTransferKey(admin, { recipient: first.recipient })).status).toBe(401);
    expect((await api.request('GET', `devices/${target.id}/backup-transfer-key`, { token: soc })).status).toBe(403);
    expect((await api.auditRows(`action = 'backup.transfer_key_report' AND resource_id = $1`, [target.id])).length).toBeGreaterThanOrEqual(
      3,
    );
  });

  it("restores a dead device's backups onto new hardware: Super Admin, same organization, a transfer key, read tokens for the source's repository only", async () => {
    const source = await enrollDeviceAt(api, admin, where, 'escrow-dead');
    const target = await enrollDeviceAt(api, admin, where, 'escrow-replacement');
    const foreign = await enrollDeviceAt(api, admin, elsewhere, 'escrow-foreign');
    expect((await api.request('POST', `devices/${source.id}/retire`, { token: admin, body: {} })).status).toBe(201);
    const password = randomBytes(32).toString('base64url');
    const transfer = await keygen('replacement.key');
    const passwordCiphertext = await encrypt(transfer.recipient, password);
    const body = (overrides: Record<string, unknown> = {}) => ({
      snapshotId: 'a1b2c3d4',
      paths: ['/etc', '/srv/app'],
      target: { mode: 'original' },
      source: { deviceId: source.id, passwordCiphertext },
      ...overrides,
    });
    const restore = (payload: unknown, token = admin, deviceId = target.id) =>
      api.request('POST', `devices/${deviceId}/backup-restores`, { token, body: payload });

    const noKey = await restore(body());
    expect([noKey.status, noKey.body.code]).toEqual([409, 'BACKUP_TRANSFER_KEY_MISSING']);
    expect((await reportTransferKey(target.credential, { recipient: transfer.recipient })).status).toBe(200);

    expect((await restore(body(), soc)).status).toBe(403);
    const outside = await restore(body({ source: { deviceId: foreign.id, passwordCiphertext } }));
    expect([outside.status, outside.body.code]).toEqual([422, 'BACKUP_SOURCE_INVALID']);
    expect(outside.body.detail).toMatch(/another organization/);
    const missing = await restore(body({ source: { deviceId: '00000000-0000-4000-8000-000000000000', passwordCiphertext } }));
    expect([missing.status, missing.body.code]).toEqual([422, 'BACKUP_SOURCE_INVALID']);
    const itself = await restore(body({ source: { deviceId: target.id, passwordCiphertext } }));
    expect([itself.status, itself.body.code]).toEqual([422, 'BACKUP_SOURCE_INVALID']);
    for (const bad of [
      password,
      '-----BEGIN AGE ENCRYPTED FILE-----\nnot base64 !\n-----END AGE ENCRYPTED FILE-----\n',
      `${passwordCiphertext}trailing`,
      'x'.repeat(5000),
    ]) {
      const refused = await restore(body({ source: { deviceId: source.id, passwordCiphertext: bad } }));
      expect(refused.status, bad.slice(0, 40)).toBe(400);
      expect(refused.body.detail).toMatch(/passwordCiphertext/);
    }
    expect((await api.sql.query(`SELECT count(*)::int AS n FROM backup_runs WHERE device_id = $1`, [target.id])).rows[0].n).toBe(0);

    const asked = await restore(body());
    expect(asked.status, asked.text).toBe(201);
    expect(asked.body).toMatchObject({ kind: 'restore', status: 'scheduled', request: { source: { deviceId: source.id } } });
    const stored = await api.sql.query(`SELECT request FROM backup_runs WHERE id = $1`, [asked.body.id]);
    expect(stored.rows[0].request.source).toEqual({ deviceId: source.id, passwordCiphertext });
    // The audit row names the source device; the ciphertext is in no audit row.
    const audit = await api.auditRows(`action = 'backup.restore' AND resource_id = $1 AND result = 'success'`, [target.id]);
    expect(audit).toHaveLength(1);
    expect(audit[0].details.request.source).toEqual({ deviceId: source.id });
    const everything = JSON.stringify(await api.auditRows());
    expect(everything).not.toContain('AGE ENCRYPTED');
    expect(everything).not.toContain(password);

    // The command the replacement gets carries the source and the ciphertext it alone can decrypt.
    const polled = await api.request('GET', 'agent/commands?waitSeconds=0', { token: target.credential });
    const carried = (polled.body.commands as Array<Record<string, any>>).find((c) => c.action === 'backup.restore')!;
    expect(carried.params.runId).toBe(asked.body.id);
    expect(carried.params.source).toEqual({ deviceId: source.id, passwordCiphertext });
    expect(await decrypt(transfer.file, carried.params.source.passwordCiphertext)).toBe(password);

    // Tokens: the source's repository, read-only, for the replacement's open run only.
    const read = await tokenFor(target.credential, { runId: asked.body.id, op: 'read' });
    expect(read.status, read.text).toBe(200);
    expect(read.body.repositoryUrl).toBe(`${api.config.API_BACKUP_SERVER_URL}/${source.id}/`);
    const keys = await api.request('GET', 'backups/token-keys', { token: admin });
    const publicKeys = keys.body.keys.map((k: { keyId: string; publicKeyPem: string }) => ({
      keyId: k.keyId,
      publicKey: createPublicKey(k.publicKeyPem),
    }));
    const verified = verifyBackupToken(read.body.token, publicKeys, new Date());
    expect(verified).toMatchObject({ ok: true, claims: { sub: source.id, op: 'read' } });
    for (const op of ['append', 'prune']) {
      expect((await tokenFor(target.credential, { runId: asked.body.id, op })).body.code, op).toBe('BACKUP_TOKEN_REFUSED');
    }
    // Another device cannot use the run (neither a third device nor the source's own credential, retired).
    expect((await tokenFor(foreign.credential, { runId: asked.body.id, op: 'read' })).body.code).toBe('BACKUP_RUN_NOT_FOUND');
    expect((await tokenFor(source.credential, { runId: asked.body.id, op: 'read' })).status).toBe(401);
    const tokens = await api.auditRows(`action = 'backup.token_issue' AND resource_id = $1 AND result = 'success'`, [target.id]);
    expect(tokens.at(-1).details).toMatchObject({ runId: asked.body.id, repositoryDeviceId: source.id });

    // Once the run ends, no more tokens for the source's repository.
    const done = await api.request('POST', `agent/commands/${carried.commandId}/status`, {
      token: target.credential,
      body: { status: 'succeeded', exitCode: 0, stdout: 'restored\n' },
    });
    expect(done.status, done.text).toBe(200);
    expect((await tokenFor(target.credential, { runId: asked.body.id, op: 'read' })).body.code).toBe('BACKUP_TOKEN_REFUSED');

    // The replacement's own restores (no source) stay on its own repository.
    const own = await restore({ snapshotId: 'a1b2c3d4', paths: ['/etc'], target: { mode: 'original' } });
    expect(own.status, own.text).toBe(201);
    const ownToken = await tokenFor(target.credential, { runId: own.body.id, op: 'read' });
    expect(ownToken.body.repositoryUrl).toBe(`${api.config.API_BACKUP_SERVER_URL}/${target.id}/`);
  });

  it('carries the recovery key in backup.run until the result line brings the escrow, then stops asking', async () => {
    const key = await keygen('recovery-e2e.key');
    expect((await putKey({ recipient: key.recipient })).status).toBe(200);
    const d = await enrollDeviceAt(api, admin, where, 'escrow-e2e');
    expect((await api.request('PUT', `devices/${d.id}/backup-policy`, { token: admin, body: { mode: 'FILE' } })).status).toBe(200);
    const backupNow = async () => {
      const asked = await api.request('POST', `devices/${d.id}/backup-runs`, { token: admin, body: {} });
      expect(asked.status, asked.text).toBe(201);
      const polled = await api.request('GET', 'agent/commands?waitSeconds=0', { token: d.credential });
      return (polled.body.commands as Array<Record<string, any>>).find(
        (c) => c.action === 'backup.run' && c.params.runId === asked.body.id,
      )!;
    };
    const first = await backupNow();
    expect(first.params.escrowRecipient).toBe(key.recipient);
    const password = randomBytes(32).toString('base64url');
    const result = {
      summary: {
        snapshotId: 'abcdef12',
        filesNew: 1,
        filesChanged: 0,
        filesUnmodified: 0,
        dataAddedBytes: 10,
        totalFiles: 1,
        totalBytes: 10,
        durationSeconds: 1,
        unreadableFiles: 0,
      },
      snapshots: [{ id: 'abcdef12'.padEnd(64, '0'), time: new Date().toISOString() }],
      check: null,
      escrow: { recipient: key.recipient, ciphertext: await encrypt(first.params.escrowRecipient, password) },
    };
    const done = await api.request('POST', `agent/commands/${first.commandId}/status`, {
      token: d.credential,
      body: { status: 'succeeded', exitCode: 0, stdout: `${JSON.stringify(result)}\n` },
    });
    expect(done.status, done.text).toBe(200);
    const got = await api.request('GET', `devices/${d.id}/backup-escrow`, { token: admin });
    expect(got.status, got.text).toBe(200);
    expect(await decrypt(key.file, got.body.ciphertext)).toBe(password);
    expect((await backupNow()).params.escrowRecipient).toBeNull();
  });
});
