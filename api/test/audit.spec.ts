import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD, TestApi } from './support/harness.js';
import { MaintenanceJob, type MaintenanceJobName } from '../src/worker/maintenance.jobs.js';
import { runMaintenanceJob } from './support/worker-job.js';
/** Verification runs in the worker: run its job as the worker would, then read the recorded result as the console does. */
async function verifyNow(api: TestApi, token: string, job: MaintenanceJobName = MaintenanceJob.VerifyAuditChain) {
  await runMaintenanceJob(api, job);
  return api.request('GET', 'audit/verify', { token });
}

describe('audit trail', () => {
  let api: TestApi;
  let admin: string;

  beforeAll(async () => {
    api = await TestApi.start();
    admin = await api.adminToken();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('records who did what, from where, with the result, and never the secrets', async () => {
    const user = await api.createUser(admin, 'soc_operator');
    await api.login(user.email, TEST_PASSWORD);
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Audited Customer', kind: 'customer' } });
    const rows = await api.auditRows(`resource_id = $1`, [org.body.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'organization.create',
      resource_type: 'organization',
      result: 'success',
      user_email: 'admin@test.local',
      source_ip: '127.0.0.1',
      error_message: null,
    });
    expect(rows[0].request_id).toBe(org.headers.get('x-request-id'));
    expect(rows[0].details.body).toEqual({ name: 'Audited Customer', kind: 'customer' });

    const created = await api.auditRows(`action = 'user.create' AND resource_id = $1`, [user.id]);
    expect(created[0].details.body.password).toBe('[redacted]');
    const all = JSON.stringify(await api.auditRows());
    expect(all).not.toContain(TEST_PASSWORD);
    expect(all).not.toContain('admin-password-for-tests');
    expect(await api.auditRows(`action = 'auth.login' AND user_id = $1 AND result = 'success'`, [user.id])).toHaveLength(1);
    expect(await api.auditRows(`action = 'user.bootstrap_admin'`)).toHaveLength(1);
  });

  it('records a refused request as a failure with the error', async () => {
    const ro = await api.createUser(admin, 'read_only');
    const token = await api.tokenFor(ro.email);
    const r = await api.request('POST', 'organizations', { token, body: { name: 'Nope', kind: 'customer' } });
    expect(r.status).toBe(403);
    const rows = await api.auditRows(`action = 'organization.create' AND user_id = $1`, [ro.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].result).toBe('failure');
    expect(rows[0].error_message).toMatch(/^AUTH_FORBIDDEN/);
  });

  it('refuses UPDATE, DELETE and TRUNCATE inside PostgreSQL', async () => {
    await expect(api.sql.query(`UPDATE audit_events SET action = 'x' WHERE id = 1`)).rejects.toThrow(/append-only/);
    await expect(api.sql.query(`DELETE FROM audit_events WHERE id = 1`)).rejects.toThrow(/append-only/);
    await expect(api.sql.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only/);
    expect((await verifyNow(api, admin)).body.intact).toBe(true);
  });

  it('filters, pages and exports as CSV', async () => {
    const page = await api.request('GET', 'audit?action=organization.create&result=success&limit=1', { token: admin });
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(1);
    expect(page.body.items[0].action).toBe('organization.create');
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const ranged = await api.request('GET', `audit?from=${encodeURIComponent(from)}&resourceType=user`, { token: admin });
    expect(ranged.body.items.every((e: { resourceType: string }) => e.resourceType === 'user')).toBe(true);
    expect(ranged.body.total).toBeGreaterThan(0);

    await api.request('POST', 'organizations', { token: admin, body: { name: '=HYPERLINK("x")', kind: 'customer' } });
    const csv = await api.request('GET', 'audit/export?action=organization.create', { token: admin });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'id,timestamp,userId,userEmail,sourceIp,requestId,action,resourceType,resourceId,result,errorMessage,details,hash',
    );
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(csv.text).not.toMatch(/,=HYPERLINK/);

    const badFilter = await api.request('GET', 'audit?from=yesterday', { token: admin });
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.errors[0].path).toBe('query.from');
  });

  it('audit/verify finds the row altered with the trigger disabled', async () => {
    const before = await verifyNow(api, admin);
    expect(before.body).toMatchObject({ intact: true, firstBrokenId: null });
    const target = (await api.auditRows(`action = 'organization.create'`))[0];
    await api.sql.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only');
    await api.sql.query(`UPDATE audit_events SET details = details || '{"body":{"name":"Forged"}}' WHERE id = $1`, [target.id]);
    await api.sql.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only');
    const after = await verifyNow(api, admin, MaintenanceJob.VerifyAuditChainFull);
    expect(after.body).toMatchObject({ intact: false, firstBrokenId: String(target.id), reason: 'row content does not match its hash' });
  });

  it('audit/verify finds a deleted row (gap in the chain)', async () => {
    const other = await TestApi.start();
    try {
      const token = await other.adminToken();
      for (const name of ['A', 'B', 'C']) await other.request('POST', 'organizations', { token, body: { name, kind: 'customer' } });
      await other.sql.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only');
      await other.sql.query(`DELETE FROM audit_events WHERE id = 3`);
      await other.sql.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only');
      const r = await verifyNow(other, token);
      expect(r.body).toMatchObject({ intact: false, firstBrokenId: '4', reason: 'row 3 is missing (next row is 4)' });
    } finally {
      await other.stop();
    }
  });

  it('keeps one unbroken chain under concurrent writes', async () => {
    const other = await TestApi.start();
    try {
      const token = await other.adminToken();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          other.request('POST', 'organizations', { token, body: { name: `Parallel ${i}`, kind: 'customer' } }),
        ),
      );
      expect(results.every((r) => r.status === 201)).toBe(true);
      const verify = await verifyNow(other, token);
      expect(verify.body).toMatchObject({ intact: true });
      expect(verify.body.checked).toBeGreaterThanOrEqual(22);
    } finally {
      await other.stop();
    }
  });
});
