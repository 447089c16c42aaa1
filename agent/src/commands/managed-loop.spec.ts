// The managed actions as `run` wires them (openCommandLoop with managed.json's live view), against
// a small local server that hands out signed commands and takes reports: a keys.pin signed with
// the pinned key makes a command signed with the new key verify, without a restart.
import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { COMMAND_TTL_MS, type CommandStatusReport, type SignedCommand } from '@xspectre/contracts';
import { commandKeyId, signCommand } from '@xspectre/contracts/command-signature';
import { CREDENTIAL, sampleConfig } from '../../test/fixtures.js';
import type { Logger } from '../log.js';
import { MANAGED_FILE, ManagedSettings } from '../managed.js';
import { openCommandLoop } from './start.js';

const oldKey = generateKeyPairSync('ed25519');
const newKey = generateKeyPairSync('ed25519');
const pem = (k: KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString();
const deviceId = sampleConfig().deviceId;

function sign(signer: KeyObject, action: string, params: Record<string, unknown>): SignedCommand {
  const issuedAt = new Date(Date.now() - 1000).toISOString();
  return signCommand(signer, {
    v: 1,
    keyId: commandKeyId(signer),
    commandId: randomUUID(),
    deviceId,
    action,
    params: params as never,
    nonce: randomBytes(16).toString('hex'),
    issuedAt,
    expiresAt: new Date(Date.parse(issuedAt) + COMMAND_TTL_MS).toISOString(),
  });
}

class FakeApi {
  url = '';
  server!: Server;
  queued: SignedCommand[] = [];
  reports: { id: string; report: CommandStatusReport }[] = [];

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

  finalOf(id: string) {
    return this.reports.find((r) => r.id === id && r.report.status !== 'running')?.report;
  }

  private async route(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${CREDENTIAL}`) return send(401, { code: 'DEVICE_AUTH_INVALID' });
    if (req.method === 'GET' && req.url?.startsWith('/api/v1/agent/commands')) {
      if (this.queued.length === 0) await delay(100);
      return send(200, { commands: this.queued.splice(0), serverTime: new Date().toISOString() });
    }
    const match = /^\/api\/v1\/agent\/commands\/([0-9a-f-]{36})\/status$/.exec(req.url ?? '');
    if (req.method === 'POST' && match) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      this.reports.push({ id: match[1]!, report: JSON.parse(Buffer.concat(chunks).toString('utf8')) as CommandStatusReport });
      return send(200, { id: match[1], status: 'running' });
    }
    return send(404, { code: 'NOT_FOUND' });
  }
}

const log: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
let dir: string;
let api: FakeApi;
const stops: Array<() => Promise<void>> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xspectre-managed-loop-'));
  api = await new FakeApi().start();
});
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

async function startAgentLoop() {
  const base = sampleConfig({
    apiUrl: api.url,
    commandSigningPublicKey: pem(oldKey.publicKey),
    commandSigningKeys: [{ keyId: commandKeyId(oldKey.publicKey), publicKeyPem: pem(oldKey.publicKey) }],
  });
  const managed = await ManagedSettings.open(dir, base, log);
  const shutdown = new AbortController();
  const loop = await openCommandLoop({
    stateDir: dir,
    config: managed.config,
    env: { XSPECTRE_POLICY_FILE: join(dir, 'no-policy.json') },
    log,
    shutdown: shutdown.signal,
    now: () => new Date(),
    lastAck: null,
    dockerSocket: join(dir, 'no-docker.sock'),
    managed,
  });
  const done = loop.run();
  loop.onAck({ serverTime: new Date().toISOString(), pendingCommands: 0 }); // start without the 10 s delay
  stops.push(async () => {
    shutdown.abort();
    await done;
  });
  return managed;
}

it('a command signed with an announced key is rejected until keys.pin (signed with the pinned key) pins it, then runs', async () => {
  const managed = await startAgentLoop();
  const early = sign(newKey.privateKey, 'settings.apply', { heartbeatIntervalSeconds: 90 });
  api.queued.push(early);
  await expect.poll(() => api.finalOf(early.commandId)?.status, { timeout: 10_000 }).toBe('rejected');
  expect(api.finalOf(early.commandId)?.reason).toMatch(/unknown key id/);

  const pin = sign(oldKey.privateKey, 'keys.pin', { keyId: commandKeyId(newKey.publicKey), publicKeyPem: pem(newKey.publicKey) });
  api.queued.push(pin);
  await expect.poll(() => api.finalOf(pin.commandId)?.status, { timeout: 10_000 }).toBe('succeeded');
  expect(managed.pinnedKeys.map((k) => k.keyId)).toEqual([commandKeyId(oldKey.publicKey), commandKeyId(newKey.publicKey)]);

  const after = sign(newKey.privateKey, 'settings.apply', { heartbeatIntervalSeconds: 90, watch: { units: ['nginx.service'] } });
  api.queued.push(after);
  await expect.poll(() => api.finalOf(after.commandId)?.status, { timeout: 10_000 }).toBe('succeeded');
  expect(managed.config.heartbeatIntervalSeconds).toBe(90);
  expect(JSON.parse(await readFile(join(dir, MANAGED_FILE), 'utf8'))).toMatchObject({
    heartbeatIntervalSeconds: 90,
    watchUnits: ['nginx.service'],
    commandSigningKeys: [{ keyId: commandKeyId(oldKey.publicKey) }, { keyId: commandKeyId(newKey.publicKey) }],
  });
  // The old key still verifies too.
  const old = sign(oldKey.privateKey, 'settings.apply', { heartbeatIntervalSeconds: 30 });
  api.queued.push(old);
  await expect.poll(() => api.finalOf(old.commandId)?.status, { timeout: 10_000 }).toBe('succeeded');
});

it('a keys.pin whose key is not its id fails and pins nothing', async () => {
  const managed = await startAgentLoop();
  const bad = sign(oldKey.privateKey, 'keys.pin', { keyId: '0000000000000000', publicKeyPem: pem(newKey.publicKey) });
  api.queued.push(bad);
  await expect.poll(() => api.finalOf(bad.commandId)?.status, { timeout: 10_000 }).toBe('failed');
  expect(api.finalOf(bad.commandId)?.reason).toMatch(/not the id of the key/);
  expect(managed.pinnedKeys).toHaveLength(1);
});
