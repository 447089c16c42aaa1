import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LiveServerMessage } from '@xspectre/contracts';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type LabHub } from './support/fleet.js';
import { TestApi } from './support/harness.js';
import { runMaintenanceJob } from './support/worker-job.js';
import { LiveClient } from './support/live-client.js';

type CommandChanged = Extract<LiveServerMessage, { type: 'command.changed' }>;

/**
 * Live `command.changed` through the real routes: the device's side drives the command on one API
 * instance, consoles listen on another (Redis pub/sub between them), the worker expires.
 */
describe('live command.changed', () => {
  let hub: LabHub;
  let api: TestApi;
  let sibling: TestApi;
  let admin: string;
  let organizationId: string;
  let siteId: string;
  const open: LiveClient[] = [];

  const connect = async (token: string, on: TestApi = sibling) => {
    const client = await LiveClient.connect(on, { bearer: token });
    open.push(client);
    return client;
  };
  const enroll = (name: string) => enrollDeviceAt(api, admin, { organizationId, siteId }, name);
  const queue = (deviceId: string, body: unknown = { action: 'service.restart', params: { unit: 'nginx.service' } }) =>
    api.request('POST', `devices/${deviceId}/commands`, { token: admin, body });
  const poll = (credential: string) => api.request('GET', 'agent/commands?waitSeconds=0', { token: credential });
  const report = (credential: string, id: string, body: unknown) =>
    api.request('POST', `agent/commands/${id}/status`, { token: credential, body });
  const changesOf = (client: LiveClient, commandId: string) =>
    client.messages.filter((m): m is CommandChanged => m.type === 'command.changed' && m.command.id === commandId);
  /**
   * Every announcement published before a sentinel command's `queued` has reached the client once
   * the sentinel's has: one Redis channel delivers in publish order.
   */
  const settle = async (client: LiveClient, deviceId: string) => {
    const sentinel = await queue(deviceId, { action: 'diagnostics.collect', params: {} });
    expect(sentinel.status).toBe(201);
    await client.next('command.changed', (m) => m.command.id === sentinel.body.id);
  };

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    sibling = await TestApi.startSibling(api, { API_AGENT_SOURCE_CHECK: 'false' });
    admin = await api.adminToken();
    ({ organizationId, siteId } = await createOrganizationSite(api, admin, 'Live Commands Co'));
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.socket.terminate();
  });
  afterAll(async () => {
    await sibling?.stop();
    await api?.stop();
    await hub?.stop();
  });

  it('a console sees queued, delivered, running and succeeded, once each, without the output', async () => {
    const device = await enroll('live-cmd-1');
    const readOnly = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    const consoles = [await connect(admin), await connect(readOnly)];

    const queued = await queue(device.id);
    expect(queued.status, queued.text).toBe(201);
    const id = queued.body.id as string;
    for (const client of consoles) {
      const first = await client.next('command.changed', (m) => m.command.id === id);
      expect(first.command).toMatchObject({ id, deviceId: device.id, status: 'queued', action: 'service.restart', critical: false });
    }

    // Handed out twice (the first answer may be lost): delivered is announced once.
    expect((await poll(device.credential)).body.commands).toHaveLength(1);
    expect((await poll(device.credential)).body.commands).toHaveLength(1);
    const delivered = await consoles[0]!.next('command.changed', (m) => m.command.id === id);
    expect(delivered.command).toMatchObject({ status: 'delivered', deliveredAt: expect.any(String) });

    expect((await report(device.credential, id, { status: 'running' })).status).toBe(200);
    const running = await consoles[0]!.next('command.changed', (m) => m.command.id === id);
    expect(running.command).toMatchObject({ status: 'running', startedAt: expect.any(String) });

    const done = await report(device.credential, id, { status: 'succeeded', exitCode: 0, stdout: 'restarted\n', stderr: 'warning\n' });
    expect(done.status).toBe(200);
    const succeeded = await consoles[0]!.next('command.changed', (m) => m.command.id === id);
    expect(succeeded.command).toMatchObject({ status: 'succeeded', exitCode: 0, finishedAt: expect.any(String) });
    // Output stays out of the live message: the console fetches GET commands/:id.
    expect(succeeded.command).not.toHaveProperty('stdout');
    expect(succeeded.command).not.toHaveProperty('stderr');

    // A retried final report changes nothing and announces nothing; a refused one neither.
    expect((await report(device.credential, id, { status: 'succeeded', exitCode: 0 })).status).toBe(200);
    expect((await report(device.credential, id, { status: 'failed', exitCode: 1 })).status).toBe(409);
    for (const client of consoles) {
      await settle(client, device.id);
      expect(changesOf(client, id).map((m) => m.command.status)).toEqual(['queued', 'delivered', 'running', 'succeeded']);
    }
  });

  it('a rejected command is announced with its reason', async () => {
    const device = await enroll('live-cmd-reject');
    const client = await connect(admin);
    const id = (await queue(device.id)).body.id as string;
    await poll(device.credential);
    expect((await report(device.credential, id, { status: 'rejected', reason: 'denied by local policy' })).status).toBe(200);
    const rejected = await client.next('command.changed', (m) => m.command.id === id && m.command.status === 'rejected');
    expect(rejected.command.reason).toBe('denied by local policy');
  });

  it("the worker's expiry is announced to consoles of the API", async () => {
    const device = await enroll('live-cmd-expire');
    const client = await connect(admin, api);
    const stale = await queue(device.id);
    await client.next('command.changed', (m) => m.command.id === stale.body.id && m.command.status === 'queued');
    await api.sql.query(`UPDATE commands SET expires_at = now() - interval '1 second' WHERE id = $1`, [stale.body.id]);
    const result = await runMaintenanceJob<{ expired: string[] }>(api, MaintenanceJob.ExpireCommands);
    expect(result.expired).toEqual([stale.body.id]);
    const expired = await client.next('command.changed', (m) => m.command.id === stale.body.id && m.command.status === 'expired');
    expect(expired.command).toMatchObject({ deviceId: device.id, deliveredAt: null, finishedAt: expect.any(String) });
  });
});
