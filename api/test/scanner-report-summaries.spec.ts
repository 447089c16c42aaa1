import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScannerReportSummary } from '@xspectre/contracts';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import type { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollBody, startApiWithLabHub, type LabHub } from './support/fleet.js';
import { stepUp } from './support/step-up.js';
import { runMaintenanceJob } from './support/worker-job.js';
import { LiveClient } from './support/live-client.js';

const REPORT_ID = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const SUMMARY: ScannerReportSummary = {
  reportId: REPORT_ID,
  taskName: 'Weekly DMZ',
  scanStartedAt: '2026-12-03T01:00:00Z',
  scanEndedAt: '2026-12-03T02:00:00Z',
  counts: { critical: 1, high: 2, medium: 0, low: 0, log: 5, falsePositive: 0 },
  hostCount: 12,
  topFindings: [{ nvtOid: '1.3.6.1.4.1.25623.1.0.999999', name: 'Finding that must stay home', severity: 9.8, hosts: 3 }],
};

describe('scanner report summaries (results stay home unless asked)', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let soc: string;
  let readOnly: string;
  let scanner: { id: string; credential: string };
  let server: { id: string; credential: string };

  const enroll = async (where: { organizationId: string; siteId: string }, name: string, type: 'scanner' | 'server') => {
    const created = await api.request('POST', 'devices', { token: admin, body: { name, ...where, type } });
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(created.body.claimCode.code) });
    if (enrolled.status !== 201) throw new Error(`enroll: ${enrolled.status} ${enrolled.text}`);
    return { id: enrolled.body.deviceId as string, credential: enrolled.body.deviceCredential as string };
  };
  const ask = (deviceId: string, body: unknown, token = admin) =>
    api.request('POST', `devices/${deviceId}/scanner/report-summaries`, { token, body });
  const view = (deviceId: string, commandId: string, token = admin) =>
    api.request('GET', `devices/${deviceId}/scanner/report-summaries/${commandId}`, { token });
  /** The agent's side: fetch the command, run it, report the summary as the last stdout line. */
  const complete = async (commandId: string, stdout: string, status = 'succeeded') => {
    const polled = await api.request('GET', 'agent/commands?waitSeconds=0', { token: scanner.credential });
    expect(polled.body.commands.map((c: { commandId: string }) => c.commandId)).toContain(commandId);
    const r = await api.request('POST', `agent/commands/${commandId}/status`, {
      token: scanner.credential,
      body: {
        status,
        exitCode: status === 'succeeded' ? 0 : 1,
        stdout,
        stderr: '',
        ...(status === 'failed' ? { reason: 'gvmd: report not found' } : {}),
      },
    });
    expect(r.status, r.text).toBe(200);
  };

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    readOnly = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    const where = await createOrganizationSite(api, admin, 'Summaries Co');
    scanner = await enroll(where, 'scanner-s1', 'scanner');
    server = await enroll(where, 'server-s1', 'server');
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('refuses without step-up, without the permission, for a server, and bad report ids', async () => {
    expect((await ask(scanner.id, { reportId: REPORT_ID })).body.code).toBe('AUTH_STEP_UP_REQUIRED');
    const forbidden = await ask(scanner.id, { reportId: REPORT_ID }, soc);
    expect([forbidden.status, forbidden.body.code]).toEqual([403, 'AUTH_FORBIDDEN']);
    await stepUp(api, admin);
    const notScanner = await ask(server.id, { reportId: REPORT_ID });
    expect([notScanner.status, notScanner.body.code]).toEqual([409, 'DEVICE_NOT_SCANNER']);
    for (const body of [{ reportId: 'not-a-uuid' }, {}, { reportId: REPORT_ID, maxFindings: 500 }, { reportId: REPORT_ID, extra: 1 }]) {
      const bad = await ask(scanner.id, body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
    }
    expect((await ask('00000000-0000-4000-8000-000000000000', { reportId: REPORT_ID })).status).toBe(404);
    // API-only: not through the operators' command routes.
    const direct = await api.request('POST', `devices/${scanner.id}/commands`, {
      token: admin,
      body: { action: 'scanner.report-summary', params: { reportId: REPORT_ID } },
    });
    expect(direct.status).toBe(400);
  });

  it('queues, the agent answers, the holder reads the summary; everyone else sees no output; audit carries none', async () => {
    const asked = await ask(scanner.id, { reportId: REPORT_ID, maxFindings: 5 });
    expect(asked.status, asked.text).toBe(201);
    expect(asked.body).toMatchObject({
      deviceId: scanner.id,
      reportId: REPORT_ID,
      status: 'queued',
      summary: null,
      error: null,
      expiresAt: null,
    });
    const commandId = asked.body.commandId as string;
    expect((await view(scanner.id, commandId)).body.status).toBe('queued');

    // A SOC console watching live hears the command succeed, never its output.
    const live = await LiveClient.connect(api, { bearer: soc });
    await complete(commandId, `gvmd: reading report\n${JSON.stringify(SUMMARY)}\n`);
    try {
      const heard = await live.next('command.changed', (m) => m.command.id === commandId && m.command.status === 'succeeded');
      expect(heard.command).not.toHaveProperty('stdout');
      expect(JSON.stringify(live.messages)).not.toContain('Finding that must stay home');
    } finally {
      live.socket.terminate();
    }
    const done = await view(scanner.id, commandId);
    expect(done.status, done.text).toBe(200);
    expect(done.body).toMatchObject({ status: 'succeeded', summary: SUMMARY, error: null });
    expect(Date.parse(done.body.expiresAt) - Date.now()).toBeGreaterThan(23.9 * 3600_000);

    // Super Admin reads the command with its output; SOC and Read-Only never.
    expect((await api.request('GET', `commands/${commandId}`, { token: admin })).body.stdout).toContain('Finding that must stay home');
    for (const token of [soc, readOnly]) {
      const one = await api.request('GET', `commands/${commandId}`, { token });
      expect([one.status, one.body.stdout, one.body.stderr]).toEqual([200, null, null]);
      const fleet = await api.request('GET', 'commands?limit=100', { token });
      const device = await api.request('GET', `devices/${scanner.id}/commands`, { token });
      for (const page of [fleet, device]) {
        expect(page.status).toBe(200);
        expect(page.text).not.toContain('Finding that must stay home');
      }
    }
    // And the GET of the summary needs the permission.
    expect((await view(scanner.id, commandId, soc)).status).toBe(403);
    expect((await view(server.id, commandId)).body.code).toBe('SCANNER_REPORT_SUMMARY_NOT_FOUND');
    expect((await view(scanner.id, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await api.request('GET', `devices/${scanner.id}/scanner/report-summaries/nope`, { token: admin })).status).toBe(400);

    const audit = await api.auditRows(`resource_id = $1`, [scanner.id]);
    expect(audit.map((r) => r.action)).toContain('scanner.report_summary_request');
    expect(JSON.stringify(audit)).not.toContain('Finding that must stay home');
  });

  it('garbage in the summary line and a failed command become the error field, never a 500', async () => {
    for (const [stdout, status, error] of [
      ['not json at all', 'succeeded', 'not JSON'],
      [JSON.stringify({ ...SUMMARY, hosts: ['10.0.0.1'] }), 'succeeded', 'does not match the contract'],
      ['', 'succeeded', 'without a summary line'],
      ['', 'failed', 'gvmd: report not found'],
    ]) {
      const asked = await ask(scanner.id, { reportId: REPORT_ID });
      await complete(asked.body.commandId, stdout!, status);
      const r = await view(scanner.id, asked.body.commandId);
      expect(r.status, r.text).toBe(200);
      expect(r.body.summary).toBeNull();
      expect(r.body.error).toContain(error);
    }
  });

  it('forgets the output 24 hours after it arrived: redacted at once, erased by the worker', async () => {
    const asked = await ask(scanner.id, { reportId: REPORT_ID });
    const commandId = asked.body.commandId as string;
    await complete(commandId, JSON.stringify(SUMMARY));
    const fresh = await ask(scanner.id, { reportId: REPORT_ID });
    await complete(fresh.body.commandId, JSON.stringify(SUMMARY));
    await api.sql.query(`UPDATE commands SET finished_at = now() - interval '24 hours 1 minute' WHERE id = $1`, [commandId]);

    const old = await view(scanner.id, commandId);
    expect([old.body.summary, old.body.error]).toEqual([null, expect.stringContaining('kept 24 hours')]);
    expect((await api.request('GET', `commands/${commandId}`, { token: admin })).body.stdout).toBeNull();

    const result = await runMaintenanceJob<{ purged: string[] }>(api, MaintenanceJob.PurgeReportSummaries);
    expect(result.purged).toEqual([commandId]);
    const { rows } = await api.sql.query(`SELECT id, stdout IS NULL AS gone FROM commands WHERE id = ANY($1) ORDER BY id = $2 DESC`, [
      [commandId, fresh.body.commandId],
      commandId,
    ]);
    expect(rows.map((r) => r.gone)).toEqual([true, false]);
    expect((await view(scanner.id, fresh.body.commandId)).body.summary).toEqual(SUMMARY);
    expect((await runMaintenanceJob<{ purged: string[] }>(api, MaintenanceJob.PurgeReportSummaries)).purged).toEqual([]);
  });

  it('the operator actions go through the command routes for scanners and are refused for servers', async () => {
    const refresh = await api.request('POST', `devices/${scanner.id}/commands`, {
      token: soc,
      body: { action: 'scanner.refresh', params: {} },
    });
    expect(refresh.status, refresh.text).toBe(201);
    const restart = await api.request('POST', `devices/${scanner.id}/commands`, {
      token: soc,
      body: { action: 'scanner.restart', params: { service: 'ospd-openvas' } },
    });
    expect(restart.status, restart.text).toBe(201);
    const feeds = await api.request('POST', `devices/${scanner.id}/commands`, {
      token: soc,
      body: { action: 'scanner.feed-update', params: {} },
    });
    expect([feeds.status, feeds.body.params]).toEqual([201, { pruneOldImages: true }]);
    const provisionNormal = await api.request('POST', `devices/${scanner.id}/commands`, {
      token: admin,
      body: { action: 'scanner.provision-monitor', params: {} },
    });
    expect(provisionNormal.body.code).toBe('COMMAND_WRONG_ROUTE');
    const provision = await api.request('POST', `devices/${scanner.id}/critical-commands`, {
      token: admin,
      body: { action: 'scanner.provision-monitor', params: {} },
    });
    expect(provision.status, provision.text).toBe(201);

    const onServer = await api.request('POST', `devices/${server.id}/commands`, {
      token: soc,
      body: { action: 'scanner.refresh', params: {} },
    });
    expect([onServer.status, onServer.body.code]).toEqual([409, 'DEVICE_NOT_SCANNER']);
    const bulk = await api.request('POST', 'commands/bulk', {
      token: soc,
      body: { deviceIds: [scanner.id, server.id], action: 'scanner.refresh', params: {} },
    });
    expect(bulk.body.items.map((i: { error?: { code: string } }) => i.error?.code ?? 'queued')).toEqual(['queued', 'DEVICE_NOT_SCANNER']);
    const badService = await api.request('POST', `devices/${scanner.id}/commands`, {
      token: soc,
      body: { action: 'scanner.restart', params: { service: 'pg-gvm' } },
    });
    expect(badService.status).toBe(400);
  });
});
