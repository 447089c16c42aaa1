import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerReport, Heartbeat, ServiceState } from '@xspectre/contracts';
import { TestApi } from './support/harness.js';
import { enrollTestDevice, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';

/**
 * Unchanged services and docker documents are not rewritten (the API remembers what it wrote and
 * the database checks the claim); the telemetry answer is what the newest heartbeat carried.
 */
describe('latest-state documents', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let deviceId: string;
  let credential: string;

  const services = (state: string): ServiceState[] => [
    { unit: 'ssh.service', activeState: state, subState: 'running', since: '2026-11-30T08:00:00.000Z', watched: true },
    { unit: 'cron.service', activeState: 'active', subState: 'running', since: null, watched: false },
  ];
  const docker = (cpu: number): DockerReport => ({
    status: 'ok',
    containers: [
      {
        id: 'c1',
        name: 'gvmd',
        image: 'greenbone/gvmd',
        state: 'running',
        health: 'healthy',
        restartCount: 0,
        cpuPercent: cpu,
        memoryBytes: 1000 + Math.round(cpu * 100),
      },
      { id: 'c2', name: 'old', image: 'redis', state: 'exited', health: null, restartCount: 2, cpuPercent: null, memoryBytes: null },
    ],
  });
  const hb = (sequence: number, extra: Partial<Heartbeat> = {}): Heartbeat => testHeartbeat(deviceId, sequence, extra);
  const send = async (to: TestApi, heartbeat: Heartbeat) => {
    const r = await to.request('POST', 'agent/heartbeats', { token: credential, body: heartbeat });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.accepted).toBe(1);
  };
  const telemetry = async () => {
    const r = await api.request('GET', `devices/${deviceId}/telemetry`, { token: admin });
    expect(r.status).toBe(200);
    return r.body;
  };
  const storedSequences = async () =>
    (
      await api.sql.query(
        'SELECT sequence::int, services_sequence::int AS services, docker_sequence::int AS docker FROM device_telemetry WHERE device_id = $1',
        [deviceId],
      )
    ).rows[0];

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    ({ deviceId, credential } = await enrollTestDevice(api, admin, { organization: 'Docs Co', device: 'docs-1' }));
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('keeps unchanged documents in place and answers with what the newest heartbeat carried', async () => {
    await send(api, hb(1, { services: services('active'), docker: docker(1.5) }));
    await send(api, hb(2, { services: services('active'), docker: docker(7.25) }));
    // Only the container numbers changed: neither document was rewritten.
    expect(await storedSequences()).toEqual({ sequence: 2, services: 1, docker: 1 });
    expect(await telemetry()).toMatchObject({ sequence: 2, services: services('active'), docker: docker(7.25) });

    await send(api, hb(3, { services: services('failed'), docker: docker(7.25) }));
    expect(await storedSequences()).toEqual({ sequence: 3, services: 3, docker: 1 });
    expect(await telemetry()).toMatchObject({ sequence: 3, services: services('failed'), docker: docker(7.25) });

    // A heartbeat without documents keeps them; docker gone replaces the report and its numbers.
    await send(api, hb(4));
    expect(await telemetry()).toMatchObject({ services: services('failed'), docker: docker(7.25) });
    await send(api, hb(5, { docker: { status: 'not_installed' } }));
    expect((await telemetry()).docker).toEqual({ status: 'not_installed' });
    await send(api, hb(6, { docker: docker(3) }));
    expect(await telemetry()).toMatchObject({ sequence: 6, services: services('failed'), docker: docker(3) });
    expect(await storedSequences()).toEqual({ sequence: 6, services: 3, docker: 6 });
  });

  it('never keeps an older document when another instance wrote one in between', async () => {
    const sibling = await TestApi.startSibling(api, { API_AGENT_SOURCE_CHECK: 'false' });
    try {
      await send(api, hb(10, { services: services('active'), docker: docker(1) }));
      await send(sibling, hb(11, { services: services('failed'), docker: { status: 'error', error: 'daemon down' } }));
      // This instance last wrote these very documents (at 10), but they are no longer the stored ones.
      await send(api, hb(12, { services: services('active'), docker: docker(2) }));
      expect(await telemetry()).toMatchObject({ sequence: 12, services: services('active'), docker: docker(2) });
      expect(await storedSequences()).toEqual({ sequence: 12, services: 12, docker: 12 });

      await send(sibling, hb(13, { services: services('failed'), docker: { status: 'error', error: 'daemon down' } }));
      expect(await telemetry()).toMatchObject({
        sequence: 13,
        services: services('failed'),
        docker: { status: 'error', error: 'daemon down' },
      });
    } finally {
      await sibling.stop();
    }
  });

  it('writes the documents again when the stored row is gone', async () => {
    await send(api, hb(20, { services: services('active'), docker: docker(1) }));
    await api.sql.query('DELETE FROM device_telemetry WHERE device_id = $1', [deviceId]);
    await send(api, hb(21, { services: services('active'), docker: docker(4) }));
    expect(await telemetry()).toMatchObject({ sequence: 21, services: services('active'), docker: docker(4) });
  });
});
