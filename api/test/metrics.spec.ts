import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { HubService } from '../src/hub/hub.service.js';
import { ApiMetricsService } from '../src/metrics/api-metrics.service.js';
import { enrollTestDevice, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';
import { testEnv, type TestApi } from './support/harness.js';
import { LiveClient } from './support/live-client.js';
import { DEFAULT_METRIC_LINT, hasPromtool, promtoolCheckMetrics, sampleValue, scrape, type Sample } from './support/metrics-text.js';

/**
 * The API's /metrics on its own listener (API_METRICS_LISTEN): the real API with a lab hub,
 * real requests and heartbeats from an enrolled device, then a scrape over HTTP.
 */
describe('API metrics', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let metricsUrl: string;
  let device: { deviceId: string; credential: string };

  const heartbeatRoute = { method: 'POST', route: '/api/v1/agent/heartbeats', status_class: '2xx' };
  const routes = (samples: Sample[]) =>
    new Set(samples.filter((s) => s.name === 'xspectre_http_requests_total').map((s) => s.labels.route));

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub({ API_METRICS_LISTEN: '127.0.0.1:0' }));
    const port = api.app.get(ApiMetricsService).port;
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    admin = await api.adminToken();
    device = await enrollTestDevice(api, admin, { organization: 'Metrics Co', device: 'metrics-1' });
  });

  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('counts requests by route template, heartbeats and group commits, and reads the fleet, the hub and live connections', async () => {
    // A fresh API: no heartbeat yet. (No scrape before them either: the device counts it read would be kept 15 s.)
    for (const sequence of [1, 2, 3]) {
      const r = await api.request('POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.deviceId, sequence) });
      expect(r.status, r.text).toBe(200);
    }
    // The same sequence again: stored once, counted as a duplicate.
    const again = await api.request('POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.deviceId, 3) });
    expect(again.status, again.text).toBe(200);
    const live = await LiveClient.connect(api, { bearer: admin });
    await api.app.get(HubService).reconcile();

    try {
      const after = await scrape(metricsUrl);
      expect(after.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      const s = after.samples;
      expect(sampleValue(s, 'xspectre_http_requests_total', heartbeatRoute)).toBe(4);
      expect(sampleValue(s, 'xspectre_http_request_duration_seconds_count', heartbeatRoute)).toBe(4);
      expect(sampleValue(s, 'xspectre_heartbeats_total', { outcome: 'accepted' })).toBe(3);
      expect(sampleValue(s, 'xspectre_heartbeats_total', { outcome: 'duplicate' })).toBe(1);
      expect(sampleValue(s, 'xspectre_heartbeat_commit_submissions_count')).toBe(4);
      expect(sampleValue(s, 'xspectre_heartbeat_commit_duration_seconds_count')).toBe(4);
      expect(sampleValue(s, 'xspectre_live_connections')).toBe(1);
      // The enrolled device is the hub's one peer; it never shook hands (no agent behind it).
      expect(sampleValue(s, 'xspectre_hub_peers', { kind: 'device' })).toBe(1);
      expect(sampleValue(s, 'xspectre_hub_peers', { kind: 'recovery' })).toBe(0);
      expect(sampleValue(s, 'xspectre_hub_peers_by_handshake_age', { kind: 'device', age: 'never' })).toBe(1);
      expect(sampleValue(s, 'xspectre_hub_peers_by_handshake_age', { kind: 'device', age: 'lt_3m' })).toBe(0);
      expect(sampleValue(s, 'xspectre_devices', { connectivity: 'online' })).toBe(1);
      expect(sampleValue(s, 'xspectre_devices', { connectivity: 'offline' })).toBe(0);
      expect(sampleValue(s, 'xspectre_devices', { connectivity: 'never_seen' })).toBe(0);
      expect(sampleValue(s, 'xspectre_api_process_resident_memory_bytes')).toBeGreaterThan(0);
      // Requests of other routes carry their own template; the login of beforeAll was one.
      expect(sampleValue(s, 'xspectre_http_requests_total', { method: 'POST', route: '/api/v1/auth/login', status_class: '2xx' })).toBe(1);
    } finally {
      live.socket.close();
      await live.closed;
    }
    const closed = await scrape(metricsUrl);
    expect(sampleValue(closed.samples, 'xspectre_live_connections')).toBe(0);
  });

  it('labels hostile URLs with the route template or "unmatched", never the URL', async () => {
    const known = routes((await scrape(metricsUrl)).samples);
    const junk: string[] = [];
    for (let i = 0; i < 40; i += 1) {
      junk.push(randomUUID(), randomBytes(6).toString('hex'));
      await api.request('GET', `devices/${randomUUID()}`, { token: admin });
      await api.request('GET', `devices/${randomBytes(6).toString('hex')}`, { token: admin });
      await api.request('GET', `devices/${randomUUID()}`);
      await api.request('GET', `no-such-route/${randomBytes(6).toString('hex')}`);
      await fetch(`${api.baseUrl}/${randomBytes(8).toString('hex')}?${randomBytes(4).toString('hex')}=1`);
    }
    const after = await scrape(metricsUrl);
    const added = [...routes(after.samples)].filter((r) => !known.has(r));
    expect(
      added.every((r) => r === '/api/v1/devices/:id' || r === 'unmatched'),
      added.join(', '),
    ).toBe(true);
    expect(after.text).not.toMatch(/no-such-route/);
    // 404s for an unknown id, 401s without a token, and unmatched URLs: a few series, not one per URL.
    expect(
      sampleValue(after.samples, 'xspectre_http_requests_total', { method: 'GET', route: '/api/v1/devices/:id', status_class: '4xx' }),
    ).toBe(120);
    expect(
      sampleValue(after.samples, 'xspectre_http_requests_total', { method: 'GET', route: 'unmatched', status_class: '4xx' }),
    ).toBeGreaterThanOrEqual(80);
  });

  it('serves /metrics only on its own listener: the public API port answers 404', async () => {
    for (const path of ['/metrics', '/api/v1/metrics']) {
      const r = await fetch(`${api.baseUrl}${path}`);
      expect(r.status, path).toBe(404);
      expect(await r.text()).not.toMatch(/xspectre_/);
    }
    const other = await fetch(metricsUrl.replace(/\/metrics$/, '/api/v1/devices'));
    expect(other.status).toBe(404);
    const post = await fetch(metricsUrl, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it.skipIf(!hasPromtool)('is a valid exposition (promtool check metrics)', async () => {
    const { text } = await scrape(metricsUrl);
    const check = await promtoolCheckMetrics(text);
    expect(check.parsed, check.output).toBe(true);
    // Our metrics lint clean; only prom-client's default gauges named *_total are reported.
    expect(check.lint.filter((line) => !DEFAULT_METRIC_LINT.test(line))).toEqual([]);
  });

  it('refuses a bad API_METRICS_LISTEN and takes host:port', () => {
    const env = (value: string) => testEnv('postgres://postgres@127.0.0.1:5432/x', { API_METRICS_LISTEN: value });
    for (const bad of ['9464', 'localhost', '127.0.0.1:99999', 'http://127.0.0.1:9464', '127.0.0.1:', ':9464']) {
      expect(() => loadConfig(env(bad)), bad).toThrow(ConfigError);
    }
    try {
      loadConfig(env('9464'));
    } catch (error) {
      expect((error as ConfigError).problems.join()).toMatch(/API_METRICS_LISTEN: must be host:port/);
    }
    expect(loadConfig(env('127.0.0.1:9464')).API_METRICS_LISTEN).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig(env('[::1]:9464')).API_METRICS_LISTEN).toEqual({ host: '::1', port: 9464 });
    expect(loadConfig(testEnv('postgres://postgres@127.0.0.1:5432/x')).API_METRICS_LISTEN).toBeUndefined();
  });
});
