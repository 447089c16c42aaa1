import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { AuditRepository } from '../src/audit/audit.repository.js';
import { AuditService } from '../src/audit/audit.service.js';
import { Database } from '../src/db/database.js';
import { MetricPartitionsRepository } from '../src/telemetry/metric-partitions.repository.js';
import { TestApi } from './support/harness.js';
import { MaintenanceJob, type MaintenanceJobName } from '../src/worker/maintenance.jobs.js';
import { runMaintenanceJob } from './support/worker-job.js';
/** Verification runs in the worker: run its job as the worker would, then read the recorded result as the console does. */
async function verifyNow(api: TestApi, token: string, job: MaintenanceJobName = MaintenanceJob.VerifyAuditChain) {
  await runMaintenanceJob(api, job);
  return api.request('GET', 'audit/verify', { token });
}

/** Budget of failure rows per source address per minute in this file's API. */
const FAILURE_BUDGET = 10;
/** What one failure row may weigh (details are capped at 4 KiB; jsonb adds a little). */
const ROW_BYTES_MAX = 6 * 1024;

/** ~900 KB of unknown keys (the body limit is 1 MiB). */
function floodBody(): string {
  const keys = Array.from({ length: 50_000 }, (_, i) => `"unknown_${String(i).padStart(5, '0')}":1`);
  return `{"name":"Flood","kind":"customer",${keys.join(',')}}`;
}

describe('audit trail hardening', () => {
  let api: TestApi;
  let admin: string;
  let address = 0;
  /** Each test speaks from an address of its own (X-Forwarded-For from loopback is trusted), so budgets do not mix. */
  const from = () => ({ 'x-forwarded-for': `198.51.100.${++address}` });

  beforeAll(async () => {
    api = await TestApi.start({ API_AUDIT_FAILURES_PER_IP: String(FAILURE_BUDGET) });
    admin = await api.adminToken();
  });
  afterAll(async () => {
    await api?.stop();
  });

  async function rowFor(requestId: string | null) {
    const { rows } = await api.sql.query(
      `SELECT *, pg_column_size(details) AS details_bytes, pg_column_size(a.*) AS row_bytes FROM audit_events a WHERE request_id = $1`,
      [requestId],
    );
    return rows;
  }

  it('stores a bounded row and a bounded error for a 1 MB body of unknown keys (signed in and anonymous)', async () => {
    const body = floodBody();
    expect(body.length).toBeGreaterThan(800_000);
    const signedIn = await api.request('POST', 'organizations', { token: admin, rawBody: body, headers: from() });
    expect(signedIn.status).toBe(400);
    // The answer names a few of the keys, not all 50,000.
    expect(signedIn.text.length).toBeLessThan(8 * 1024);
    expect(signedIn.body.detail).toMatch(/and 49980 more/);
    const anonymous = await api.request('POST', 'organizations', { rawBody: body, headers: from() });
    expect(anonymous.status).toBe(401);

    for (const reply of [signedIn, anonymous]) {
      const rows = await rowFor(reply.headers.get('x-request-id'));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ action: 'organization.create', result: 'failure' });
      expect(rows[0].row_bytes).toBeLessThan(ROW_BYTES_MAX);
      expect(Buffer.byteLength(JSON.stringify(rows[0].details))).toBeLessThanOrEqual(4096);
      expect(rows[0].error_message.length).toBeLessThanOrEqual(501);
    }
    const [signedInRow] = await rowFor(signedIn.headers.get('x-request-id'));
    expect(signedInRow.details).toMatchObject({ status: 400, errorCode: 'VALIDATION_FAILED', route: '/api/v1/organizations' });
    expect(signedInRow.details.body.name).toBe('Flood');
  });

  it('stores no body of an anonymous request to a protected route', async () => {
    const r = await api.request('POST', 'organizations', { body: { name: 'Anonymous Secret Plan', kind: 'customer' }, headers: from() });
    expect(r.status).toBe(401);
    const rows = await rowFor(r.headers.get('x-request-id'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ result: 'failure', user_id: null });
    expect(rows[0].error_message).toMatch(/^AUTH_REQUIRED/);
    expect(rows[0].details.body).toBeUndefined();
    expect(JSON.stringify(rows[0])).not.toContain('Anonymous Secret Plan');
  });

  it('records a failure whatever text arrives: unpaired surrogates in body keys and values, NUL in a path parameter', async () => {
    const requests = [
      api.request('POST', 'organizations', { token: admin, rawBody: '{"name":"x","kind":"customer","\\ud800":1}', headers: from() }),
      api.request('POST', 'organizations', { token: admin, rawBody: '{"name":"\\udc00\\ud800","kind":"nope"}', headers: from() }),
      api.request('PATCH', 'users/%00', { token: admin, body: { displayName: 'x' }, headers: from() }),
      api.request('PATCH', 'users/%00', { token: admin, rawBody: '{"displayName":"\\ud800","\\u0000":1}', headers: from() }),
    ];
    for (const r of await Promise.all(requests)) {
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      const rows = await rowFor(r.headers.get('x-request-id'));
      expect(rows, `request ${r.headers.get('x-request-id')} (${r.status}) left no row`).toHaveLength(1);
      expect(rows[0].result).toBe('failure');
    }
    const [nulRow] = await rowFor((await requests[2]!).headers.get('x-request-id'));
    expect(nulRow).toMatchObject({ action: 'user.update', resource_id: '\\u0000' });
    expect((await verifyNow(api, admin)).body).toMatchObject({ intact: true, firstBrokenId: null });
  });

  it('writes at most its budget of failure rows per source address, then one summary row', async () => {
    const headers = from();
    const source = headers['x-forwarded-for'];
    const replies = [];
    for (let i = 0; i < 4 * FAILURE_BUDGET; i++) {
      replies.push(await api.request('POST', 'organizations', { body: { name: `x${i}`, kind: 'customer' }, headers }));
    }
    expect(replies.every((r) => r.status === 401)).toBe(true);
    const rows = await api.auditRows(`source_ip = $1`, [source]);
    // One window holds budget + 1 rows; the minute may roll over once during the burst.
    expect(rows.length).toBeLessThanOrEqual(2 * (FAILURE_BUDGET + 1));
    const summaries = rows.filter((r) => r.action === 'audit.failures_rate_limited');
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries[0]).toMatchObject({ result: 'failure', resource_type: 'audit' });
    expect(summaries[0].details).toMatchObject({ limit: FAILURE_BUDGET, windowSeconds: 60 });
    expect(summaries[0].details.firstSuppressed).toMatchObject({ action: 'organization.create', errorCode: 'AUTH_REQUIRED' });
    // A signed-in operator behind the same address (a shared NAT) has a budget of its own.
    const denied = await api.request('POST', 'organizations', { token: admin, body: { name: '', kind: 'customer' }, headers });
    expect(denied.status).toBe(400);
    expect(await api.auditRows(`request_id = $1`, [denied.headers.get('x-request-id')])).toHaveLength(1);
    expect((await verifyNow(api, admin)).body.intact).toBe(true);
  });

  it('runs the API as a role that can neither disable the audit triggers nor delete rows, yet keeps partitions', async () => {
    const db = api.app.get(Database).dataSource;
    const [row] = (await db.query('SELECT current_user AS user')) as Array<{ user: string }>;
    expect(row?.user).toBe('xspectre_api');
    expect(await api.app.get(AuditRepository).roleCanRewriteTrail()).toBe(false);
    const owned = await api.sql.query(`SELECT count(*)::int AS n FROM pg_class WHERE relowner = 'xspectre_api'::regrole`);
    expect(owned.rows[0].n).toBe(0);

    const asApp = new pg.Client({ connectionString: api.config.DB_URL });
    asApp.on('error', () => undefined);
    await asApp.connect();
    try {
      for (const statement of [
        'ALTER TABLE audit_events DISABLE TRIGGER ALL',
        'ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only',
        'DROP TRIGGER audit_events_append_only ON audit_events',
        'DELETE FROM audit_events',
        `UPDATE audit_events SET action = 'x'`,
        'TRUNCATE audit_events',
        'DROP TABLE audit_events',
      ]) {
        await expect(asApp.query(statement), statement).rejects.toMatchObject({ code: '42501' });
      }
      // Appending still works for it (the trail is its to write, not to rewrite).
      expect((await asApp.query('SELECT count(*)::int AS n FROM audit_events')).rows[0].n).toBeGreaterThan(0);
    } finally {
      await asApp.end();
    }

    // Day partitions are created and dropped through the owner's functions.
    const partitions = api.app.get(MetricPartitionsRepository);
    await partitions.ensureDays(['2020-01-01']);
    expect(await partitions.dropOlderThan(new Date('2020-01-03T00:00:00Z'))).toEqual(['metric_samples_20200101']);
  });

  // Last: it breaks this database's chain on purpose.
  it('detects deleted newest rows through the signed checkpoint outside the database', async () => {
    for (const name of ['Anchor A', 'Anchor B', 'Anchor C']) {
      expect((await api.request('POST', 'organizations', { token: admin, body: { name, kind: 'customer' } })).status).toBe(201);
    }
    // An intact verification checkpoints the head it reached.
    expect((await verifyNow(api, admin)).body.intact).toBe(true);
    const [head] = (await api.sql.query(`SELECT max(id)::text AS id FROM audit_events`)).rows;
    const lines = (await readFile(`${api.config.API_AUDIT_ANCHOR_DIR}/audit-anchors.jsonl`, 'utf8')).trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ id: head.id, mac: expect.stringMatching(/^[0-9a-f]{64}$/) });

    // Someone with more power than the API's role deletes the newest rows: the rest still chains.
    const client = await api.sql.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only');
      await client.query('DELETE FROM audit_events WHERE id > $1', [BigInt(head.id) - 2n]);
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const end = (BigInt(head.id) - 2n).toString();
    const verify = await verifyNow(api, admin);
    expect(verify.body).toMatchObject({ intact: false, firstBrokenId: (BigInt(end) + 1n).toString() });
    expect(verify.body.reason).toMatch(
      new RegExp(`^the chain ends at row ${end} but the checkpoint signed at \\S+ records row ${head.id}$`),
    );

    // New rows after the cut do not make it whole again, and no checkpoint papers over it.
    await api.request('POST', 'organizations', { token: admin, body: { name: 'After the cut', kind: 'customer' } });
    expect((await verifyNow(api, admin)).body.intact).toBe(false);
    const checkpoint = await api.app.get(AuditService).checkpoint();
    expect(checkpoint.written).toBeNull();
    expect(checkpoint.refused).toMatch(new RegExp(`no longer holds row ${head.id}`));
  });
});
