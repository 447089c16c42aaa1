import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandKeyId } from '@xspectre/contracts/command-signature';
import { COMMAND_KEY_ID, CREDENTIAL, sampleConfig } from '../../test/fixtures.js';
import { httpCommandApi } from './command-api.js';
import type { JournalEntry } from './command-journal.js';
import { decideAction } from './policy.js';
import { MANAGED_FILE, MAX_PINNED_KEYS, ManagedSettings } from '../managed.js';
import { httpCredentialApi, ManagedActions, newDeviceCredential, type CredentialApi } from './managed-actions.js';

/**
 * A stand-in for the API's credential rules (api/src/devices/devices.service.ts): a pending
 * credential works beside the current one until its first use, which drops the old one.
 */
class FakeCredentialApi {
  url = '';
  server!: Server;
  current = CREDENTIAL;
  pending: string | undefined;
  /** Commands whose credential.rotate is in progress (POST agent/credential checks it). */
  rotations = new Set<string>();
  handOvers: { bearer: string; credential: string }[] = [];
  /** Answer this many requests 503 first (the API is down). */
  unavailable = 0;
  /** Forget a pending credential as soon as it is stored (the API lost it). */
  losePending = false;

  async start() {
    this.server = createServer((req, res) => void this.route(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1`;
    return this;
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }

  private async route(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': status < 400 ? 'application/json' : 'application/problem+json' }).end(JSON.stringify(body));
    const problem = (status: number, code: string) => send(status, { type: 'about:blank', title: code, status, detail: code, code });
    if (this.unavailable > 0) {
      this.unavailable--;
      return problem(503, 'SERVICE_UNAVAILABLE');
    }
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (bearer === this.pending) {
      this.current = bearer;
      this.pending = undefined;
    } else if (bearer !== this.current) return problem(401, 'DEVICE_AUTH_INVALID');
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, string>;
    if (req.url === '/api/v1/agent/credential') {
      if (!this.rotations.has(body.commandId!)) return problem(404, 'COMMAND_NOT_FOUND');
      this.handOvers.push({ bearer, credential: body.credential! });
      this.pending = this.losePending ? undefined : body.credential;
      return send(200, { commandId: body.commandId, status: 'pending' });
    }
    const status = /^\/api\/v1\/agent\/commands\/([0-9a-f-]{36})\/status$/.exec(req.url ?? '');
    if (status) return send(200, { id: status[1], status: body.status });
    return problem(404, 'NOT_FOUND');
  }
}

const log = { info: () => undefined, warn: () => undefined };
const noSleep = () => Promise.resolve();

function entry(action: string, params: Record<string, unknown>, commandId = randomUUID()): JournalEntry {
  return {
    v: 1,
    commandId,
    action,
    params,
    nonce: 'n'.repeat(32),
    expiresAt: new Date(Date.now() + 300_000).toISOString(),
    startedAt: new Date().toISOString(),
    bootMarker: '',
    unit: null,
    runningReported: true,
    result: null,
    finishedAt: null,
    reported: false,
  };
}

function newPinnedKey() {
  const { publicKey } = generateKeyPairSync('ed25519');
  return { keyId: commandKeyId(publicKey), publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

let dir: string;
let api: FakeCredentialApi;
let settings: ManagedSettings;
const never = new AbortController().signal;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xspectre-managed-actions-'));
  api = await new FakeCredentialApi().start();
  settings = await ManagedSettings.open(dir, sampleConfig({ apiUrl: api.url }), log);
});
afterEach(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

const actions = (credentialApi: CredentialApi = httpCredentialApi(settings.config), newCredential?: () => string) =>
  new ManagedActions({ settings, api: credentialApi, log, sleep: noSleep, ...(newCredential ? { newCredential } : {}) });
/** managed.json without the enrollment it belongs to (always agent.conf's). */
const onDisk = async () => {
  const { enrolledAt, ...file } = JSON.parse(await readFile(join(dir, MANAGED_FILE), 'utf8')) as Record<string, unknown>;
  expect(enrolledAt).toBe(sampleConfig().enrolledAt);
  return file;
};

describe('settings.apply', () => {
  it('writes the interval and the watch list to managed.json and applies them through the live view', async () => {
    const result = await actions().run(
      entry('settings.apply', { heartbeatIntervalSeconds: 45, watch: { units: ['nginx.service'] } }),
      never,
    );
    expect(result).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(result?.stdout).toContain('heartbeat interval: 45 s');
    expect(settings.config.heartbeatIntervalSeconds).toBe(45);
    expect(settings.heartbeatIntervalOverride).toBe(45);
    expect(settings.config.watchUnits).toEqual(['nginx.service']);
    expect(await onDisk()).toEqual({ v: 1, heartbeatIntervalSeconds: 45, watchUnits: ['nginx.service'] });
    // Only what the command names changes.
    await actions().run(entry('settings.apply', { heartbeatIntervalSeconds: 600 }), never);
    expect(await onDisk()).toEqual({ v: 1, heartbeatIntervalSeconds: 600, watchUnits: ['nginx.service'] });
  });

  it('fails params outside the schema without writing anything', async () => {
    for (const params of [{}, { heartbeatIntervalSeconds: 1 }, { watch: { units: ['a b'] } }])
      expect((await actions().run(entry('settings.apply', params), never))?.status).toBe('failed');
    expect(settings.current).toEqual({ v: 1 });
  });
});

describe('keys.pin', () => {
  it('pins a valid key once (again: already pinned) and the verifier list grows in place', async () => {
    const keys = settings.config.commandSigningKeys;
    const key = newPinnedKey();
    const first = await actions().run(entry('keys.pin', key), never);
    expect(first).toMatchObject({ status: 'succeeded' });
    expect(keys.map((k) => k.keyId)).toEqual([COMMAND_KEY_ID, key.keyId]);
    expect((await onDisk()).commandSigningKeys).toEqual(keys);
    const again = await actions().run(entry('keys.pin', key), never);
    expect(again?.stdout).toContain('pinned already');
    expect(keys).toHaveLength(2);
  });

  it('fails key material that is not Ed25519 SPKI PEM with its own id, pinning nothing', async () => {
    const key = newPinnedKey();
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    for (const [params, reason] of [
      [{ ...key, keyId: '0000000000000000' }, /keyId: is not the id/],
      [{ keyId: key.keyId, publicKeyPem: x25519 }, /Ed25519/],
      [{ keyId: key.keyId, publicKeyPem: 'not a key' }, /publicKeyPem/],
      [{ keyId: 'short', publicKeyPem: key.publicKeyPem }, /params do not match/],
    ] as const) {
      const result = await actions().run(entry('keys.pin', params), never);
      expect(result?.status).toBe('failed');
      expect(result?.reason).toMatch(reason);
    }
    expect(settings.pinnedKeys.map((k) => k.keyId)).toEqual([COMMAND_KEY_ID]);
  });

  it('refuses a 17th key (the list is bounded)', async () => {
    for (let i = settings.pinnedKeys.length; i < MAX_PINNED_KEYS; i++) await actions().run(entry('keys.pin', newPinnedKey()), never);
    expect(settings.pinnedKeys).toHaveLength(MAX_PINNED_KEYS);
    const result = await actions().run(entry('keys.pin', newPinnedKey()), never);
    expect(result).toMatchObject({ status: 'failed', reason: expect.stringContaining('enroll the device again') });
  });

  it('is allowed by a local policy whose allow list does not name it, refused only by deny', () => {
    expect(decideAction({ allow: ['service.restart'] }, 'keys.pin')).toEqual({ allowed: true });
    expect(decideAction({ allow: ['service.restart'] }, 'settings.apply')).toMatchObject({ allowed: false });
    expect(decideAction({ deny: ['keys.pin'] }, 'keys.pin')).toMatchObject({ allowed: false });
    expect(decideAction({ deny: ['*'] }, 'keys.pin')).toMatchObject({ allowed: false });
  });
});

describe('credential.rotate', () => {
  it('hands the new credential over with the old one, switches, and the first request with it drops the old one', async () => {
    const run = entry('credential.rotate', {});
    api.rotations.add(run.commandId);
    const result = await actions().run(run, never);
    expect(result).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(api.handOvers).toHaveLength(1);
    const fresh = api.handOvers[0]!.credential;
    expect(fresh).toMatch(/^dc_[A-Za-z0-9_-]{43}$/);
    expect(api.handOvers[0]!.bearer).toBe(CREDENTIAL);
    expect(api.current).toBe(fresh);
    expect(settings.config.deviceCredential).toBe(fresh);
    // Nothing secret but the credential in use is kept.
    expect(await onDisk()).toEqual({ v: 1, deviceCredential: fresh, credentialRotation: { stage: 'confirmed', commandId: run.commandId } });
    // The command client reads the live view: its report goes with the new credential.
    const report = await httpCommandApi(settings.config).report(run.commandId, { status: 'succeeded', exitCode: 0 }, never);
    expect(report).toEqual({ kind: 'accepted' });
    // Run again (a restart before the result was recorded): done, nothing sent twice.
    expect(await actions().run(run, never)).toMatchObject({ status: 'succeeded' });
    expect(api.handOvers).toHaveLength(1);
  });

  it('makes dc_ credentials of 32 random bytes', () => {
    const a = newDeviceCredential();
    expect(a).toMatch(/^dc_[A-Za-z0-9_-]{43}$/);
    expect(newDeviceCredential()).not.toBe(a);
  });

  it('after a crash before the hand-over answer, sends the same credential again (the API takes it as a retry)', async () => {
    const run = entry('credential.rotate', {});
    api.rotations.add(run.commandId);
    // The hand-over never gets an answer; shutdown ends the wait: nothing switched, the old credential works.
    const stop = new AbortController();
    const down: CredentialApi = {
      handOver: () => {
        stop.abort();
        return Promise.reject(new (class extends Error {})());
      },
      knows: () => Promise.resolve(true),
    };
    await expect(actions(down).run(run, stop.signal)).rejects.toThrow(); // a non-network error is not retried
    const kept = settings.current.credentialRotation;
    expect(kept).toMatchObject({ stage: 'generated', commandId: run.commandId });
    expect(settings.config.deviceCredential).toBe(CREDENTIAL);

    // The next start (same managed.json) resumes: the same credential, handed over with the old one.
    settings = await ManagedSettings.open(dir, sampleConfig({ apiUrl: api.url }), log);
    const result = await actions(undefined, () => 'dc_never_used').run(run, never);
    expect(result).toMatchObject({ status: 'succeeded' });
    expect(api.handOvers.map((h) => h.credential)).toEqual([(kept as { credential: string }).credential]);
    expect(api.current).toBe(settings.config.deviceCredential);
  });

  it('retries while the API is unreachable, and at shutdown stops with nothing lost (resumed at the next start)', async () => {
    const run = entry('credential.rotate', {});
    api.rotations.add(run.commandId);
    api.unavailable = 2;
    expect(await actions().run(run, never)).toMatchObject({ status: 'succeeded' });

    const second = entry('credential.rotate', {});
    api.rotations.add(second.commandId);
    api.unavailable = 1000;
    const stop = new AbortController();
    const sleeping = new ManagedActions({
      settings,
      api: httpCredentialApi(settings.config),
      log,
      sleep: () => {
        stop.abort();
        return Promise.resolve();
      },
    });
    expect(await sleeping.run(second, stop.signal)).toBeUndefined();
    expect(settings.current.credentialRotation).toMatchObject({ stage: 'generated', commandId: second.commandId });
  });

  it('switched but the API does not know the new credential (401): back to the old one, failed', async () => {
    const run = entry('credential.rotate', {});
    api.rotations.add(run.commandId);
    api.losePending = true;
    const result = await actions().run(run, never);
    expect(result).toMatchObject({ status: 'failed', reason: expect.stringContaining('previous one is kept') });
    expect(settings.config.deviceCredential).toBe(CREDENTIAL);
    expect(settings.current.credentialRotation).toBeUndefined();
    expect(api.current).toBe(CREDENTIAL);
  });

  it('after a crash once switched, confirms with the new credential at the next start', async () => {
    const run = entry('credential.rotate', {});
    api.rotations.add(run.commandId);
    const fresh = 'dc_' + 'A'.repeat(43);
    // As the agent leaves it when it stops right after switching: the API holds the pending credential.
    await settings.update((f) => ({
      ...f,
      deviceCredential: fresh,
      credentialRotation: { stage: 'switched', commandId: run.commandId, previousCredential: CREDENTIAL },
    }));
    api.pending = fresh;
    settings = await ManagedSettings.open(dir, sampleConfig({ apiUrl: api.url }), log);
    expect(await actions().run(run, never)).toMatchObject({ status: 'succeeded' });
    expect(api.current).toBe(fresh);
    expect(settings.current.credentialRotation).toEqual({ stage: 'confirmed', commandId: run.commandId });
  });

  it('the API refusing the hand-over (not this rotation): failed, the old credential stays, nothing pending kept', async () => {
    const run = entry('credential.rotate', {});
    const result = await actions().run(run, never);
    expect(result).toMatchObject({ status: 'failed', reason: expect.stringContaining('HTTP 404 COMMAND_NOT_FOUND') });
    expect(settings.config.deviceCredential).toBe(CREDENTIAL);
    expect(settings.current.credentialRotation).toBeUndefined();
  });

  it('refuses to start a second rotation while one is switched but unconfirmed', async () => {
    const other = randomUUID();
    await settings.update((f) => ({
      ...f,
      deviceCredential: 'dc_' + 'B'.repeat(43),
      credentialRotation: { stage: 'switched', commandId: other, previousCredential: CREDENTIAL },
    }));
    const result = await actions().run(entry('credential.rotate', {}), never);
    expect(result).toMatchObject({ status: 'failed', reason: expect.stringContaining(other) });
  });
});
