import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedScheduleJob } from '../src/scanners/feed-schedule.job.js';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import type { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollBody, startApiWithLabHub, type LabHub } from './support/fleet.js';
import { runMaintenanceJob } from './support/worker-job.js';

const HOUR = 3600_000;

describe('scanner feed update schedule per site', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let readOnly: string;
  let site: { organizationId: string; siteId: string };
  let other: { organizationId: string; siteId: string };
  const scanners: Array<{ id: string; credential: string }> = [];
  let server: { id: string; credential: string };
  let revoked: { id: string; credential: string };
  let elsewhere: { id: string; credential: string };

  const enroll = async (where: { organizationId: string; siteId: string }, name: string, type: 'scanner' | 'server') => {
    const created = await api.request('POST', 'devices', { token: admin, body: { name, ...where, type } });
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(created.body.claimCode.code) });
    if (enrolled.status !== 201) throw new Error(`enroll: ${enrolled.status} ${enrolled.text}`);
    return { id: enrolled.body.deviceId as string, credential: enrolled.body.deviceCredential as string };
  };
  const path = (siteId: string) => `sites/${siteId}/scanner-feed-schedule`;
  const put = (siteId: string, body: unknown, token = admin) => api.request('PUT', path(siteId), { token, body });
  const schedule = (now: Date) => api.app.get(FeedScheduleJob, { strict: false }).scheduleDue(now);
  const runs = async () =>
    (
      await api.sql.query(
        `SELECT device_id, slot_at, due_at, prune_old_images, command_id FROM scanner_feed_runs ORDER BY slot_at, device_id`,
      )
    ).rows as Array<{ device_id: string; slot_at: Date; due_at: Date; prune_old_images: boolean; command_id: string | null }>;

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    readOnly = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    site = await createOrganizationSite(api, admin, 'Feeds Co');
    other = await createOrganizationSite(api, admin, 'Other Co');
    for (const name of ['fs-1', 'fs-2', 'fs-3']) scanners.push(await enroll(site, name, 'scanner'));
    server = await enroll(site, 'fs-server', 'server');
    revoked = await enroll(site, 'fs-revoked', 'scanner');
    elsewhere = await enroll(other, 'fs-elsewhere', 'scanner');
    expect((await api.request('POST', `devices/${revoked.id}/revoke`, { token: admin })).status).toBeLessThan(300);
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('GET before any schedule, PUT, GET with the next run, audited with before and after', async () => {
    const none = await api.request('GET', path(site.siteId), { token: admin });
    expect(none.status, none.text).toBe(200);
    expect(none.body).toEqual({ siteId: site.siteId, schedule: null, nextRunAt: null, updatedAt: null, updatedBy: null });

    const body = { enabled: true, weekdays: [0, 1, 2, 3, 4, 5, 6], hourUtc: 3, jitterMinutes: 30 };
    const saved = await put(site.siteId, body);
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body.schedule).toEqual({ ...body, pruneOldImages: true });
    expect(new Date(saved.body.nextRunAt).getUTCHours()).toBe(3);
    expect(Date.parse(saved.body.nextRunAt) - Date.now()).toBeGreaterThan(0);
    expect(Date.parse(saved.body.nextRunAt) - Date.now()).toBeLessThanOrEqual(24 * HOUR);
    expect((await api.request('GET', path(site.siteId), { token: admin })).body).toEqual(saved.body);

    const changed = await put(site.siteId, { ...body, weekdays: [1], pruneOldImages: false });
    expect(changed.status).toBe(200);
    expect(new Date(changed.body.nextRunAt).getUTCDay()).toBe(1);
    const audit = await api.auditRows(`action = 'scanner.feed_schedule_update' AND resource_id = $1`, [site.siteId]);
    expect(audit).toHaveLength(2);
    expect(audit[1].details).toMatchObject({ before: { ...body, pruneOldImages: true }, after: { weekdays: [1], pruneOldImages: false } });
  });

  it.each([
    ['weekday 7', { weekdays: [7] }],
    ['jitter 500', { jitterMinutes: 500 }],
    ['duplicate weekdays', { weekdays: [1, 1] }],
    ['no weekday', { weekdays: [] }],
    ['hour 24', { hourUtc: 24 }],
    ['an unknown field', { extra: true }],
    ['a missing field', { enabled: undefined }],
  ])('refuses %s with a 400', async (_, change) => {
    const r = await put(site.siteId, { enabled: true, weekdays: [1], hourUtc: 3, jitterMinutes: 30, ...change });
    expect(r.status, r.text).toBe(400);
  });

  it('refuses an unknown site, a bad id and a role without devices.manage', async () => {
    const body = { enabled: true, weekdays: [1], hourUtc: 3, jitterMinutes: 0 };
    expect((await put('00000000-0000-4000-8000-000000000000', body)).body.code).toBe('SITE_NOT_FOUND');
    expect((await put('nope', body)).status).toBe(400);
    expect((await put(site.siteId, body, readOnly)).status).toBe(403);
    // Reading it is devices.view: a Read-Only operator sees when the site's scanners update.
    expect((await api.request('GET', path(site.siteId), { token: readOnly })).status).toBe(200);
    // An internal site's scanners take commands from Super Admins only: so does their schedule.
    const internal = await createOrganizationSite(api, admin, 'Internal Feeds', 'internal');
    const soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    const refused = await put(internal.siteId, body, soc);
    expect([refused.status, refused.body.code]).toEqual([403, 'AUTH_INTERNAL_READ_ONLY']);
    expect((await put(site.siteId, body, soc)).status).toBe(200);
    expect((await put(internal.siteId, body)).status).toBe(200);
    expect((await api.request('DELETE', path(internal.siteId), { token: soc })).body.code).toBe('AUTH_INTERNAL_READ_ONLY');
    expect((await api.request('DELETE', path(internal.siteId), { token: admin })).status).toBe(204);
  });

  it('the job makes one run per active scanner of the site and slot, jittered within the window; the poll queues it once', async () => {
    const saved = await put(site.siteId, { enabled: true, weekdays: [0, 1, 2, 3, 4, 5, 6], hourUtc: 3, jitterMinutes: 30 });
    const slot = new Date(saved.body.nextRunAt);
    // Before the slot: nothing.
    expect(await schedule(new Date(slot.getTime() - 60_000))).toEqual([]);
    const first = await schedule(new Date(slot.getTime() + 5 * 60_000));
    expect(first.map((r) => r.deviceId).sort()).toEqual(scanners.map((s) => s.id).sort());
    // A second worker, or the same one again: nothing more.
    expect(await schedule(new Date(slot.getTime() + 10 * 60_000))).toEqual([]);
    const rows = await runs();
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r.slot_at.getTime()).toBe(slot.getTime());
      const jitter = r.due_at.getTime() - r.slot_at.getTime();
      expect(jitter).toBeGreaterThanOrEqual(0);
      expect(jitter).toBeLessThanOrEqual(30 * 60_000);
      expect(r.prune_old_images).toBe(true);
    }
    // Neither the server of the site, nor the revoked scanner, nor another site's scanner.
    expect(rows.map((r) => r.device_id)).not.toContain(server.id);
    expect(rows.map((r) => r.device_id)).not.toContain(revoked.id);
    expect(rows.map((r) => r.device_id)).not.toContain(elsewhere.id);

    // Not due yet (its slot is in the future): the poll queues nothing.
    const early = await api.request('GET', 'agent/commands?waitSeconds=0', { token: scanners[0]!.credential });
    expect(early.body.commands).toEqual([]);
    // Its time has come: the poll turns it into one signed scanner.feed-update, once.
    await api.sql.query(`UPDATE scanner_feed_runs SET due_at = now() - interval '1 minute' WHERE device_id = $1`, [scanners[0]!.id]);
    const due = await api.request('GET', 'agent/commands?waitSeconds=0', { token: scanners[0]!.credential });
    expect(due.body.commands.map((c: { action: string; params: unknown }) => [c.action, c.params])).toEqual([
      ['scanner.feed-update', { pruneOldImages: true }],
    ]);
    const again = await api.request('GET', 'agent/commands?waitSeconds=0', { token: scanners[0]!.credential });
    expect(again.body.commands.map((c: { commandId: string }) => c.commandId)).toEqual(
      due.body.commands.map((c: { commandId: string }) => c.commandId),
    );
    const { rows: queued } = await api.sql.query(
      `SELECT count(*)::int AS n FROM commands WHERE device_id = $1 AND action = 'scanner.feed-update'`,
      [scanners[0]!.id],
    );
    expect(queued[0].n).toBe(1);
    expect((await runs()).find((r) => r.device_id === scanners[0]!.id)?.command_id).toBe(due.body.commands[0].commandId);

    // The next day's slot is a new run.
    expect(await schedule(new Date(slot.getTime() + 24 * HOUR + 60_000))).toHaveLength(3);
    // The worker's job runs the same code (the slot of today is past the catch-up window, or before the schedule).
    const viaWorker = await runMaintenanceJob<{ scheduled: unknown[] }>(api, MaintenanceJob.ScheduleFeedUpdates);
    expect(viaWorker.scheduled).toEqual([]);
  });

  it('a disabled schedule, a slot past the catch-up window and a deleted schedule schedule nothing', async () => {
    const body = { enabled: false, weekdays: [0, 1, 2, 3, 4, 5, 6], hourUtc: 5, jitterMinutes: 0 };
    const disabled = await put(site.siteId, body);
    expect(disabled.body.nextRunAt).toBeNull();
    const tomorrow5 = new Date(Date.parse((await put(site.siteId, { ...body, enabled: true })).body.nextRunAt) + 24 * HOUR);
    await put(site.siteId, body);
    expect(await schedule(new Date(tomorrow5.getTime() + 60_000))).toEqual([]);
    await put(site.siteId, { ...body, enabled: true });
    expect(await schedule(new Date(tomorrow5.getTime() + 7 * HOUR))).toEqual([]);

    const removed = await api.request('DELETE', path(site.siteId), { token: admin });
    expect(removed.status, removed.text).toBe(204);
    expect((await api.request('GET', path(site.siteId), { token: admin })).body.schedule).toBeNull();
    expect(await schedule(new Date(tomorrow5.getTime() + 60_000))).toEqual([]);
    const twice = await api.request('DELETE', path(site.siteId), { token: admin });
    expect([twice.status, twice.body.code]).toEqual([404, 'SCANNER_FEED_SCHEDULE_NOT_FOUND']);
    const audit = await api.auditRows(`action = 'scanner.feed_schedule_delete' AND resource_id = $1 AND result = 'success'`, [site.siteId]);
    expect(audit[0].details).toMatchObject({ before: { ...body, enabled: true }, deleted: true });
  });
});
