import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_TOTAL_CAP, type AuditVerifyResponse } from '@xspectre/contracts';
import { AuditService } from '../src/audit/audit.service.js';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import { TestApi } from './support/harness.js';
import { runMaintenanceJob } from './support/worker-job.js';

interface Page {
  items: Array<{ id: string; action: string }>;
  total: number;
  totalCapped?: boolean;
  nextCursor?: string | null;
}

/**
 * The audit log at scale: cursor pages (`id < cursor`), the unfiltered total from the chain's
 * head, bounded filtered totals, and verification in the worker, incremental from the last
 * verified row, with GET audit/verify reporting the recorded result.
 */
describe('audit at scale', () => {
  let api: TestApi;
  let admin: string;
  let org = 0;

  const createOrg = async () => {
    const r = await api.request('POST', 'organizations', { token: admin, body: { name: `Scale ${++org}`, kind: 'customer' } });
    expect(r.status).toBe(201);
  };
  const head = async () => (await api.sql.query(`SELECT max(id)::text AS id FROM audit_events`)).rows[0].id as string;
  const verify = async () => (await api.request<AuditVerifyResponse>('GET', 'audit/verify', { token: admin })).body;
  const page = async (query: string) => {
    const r = await api.request<Page>('GET', `audit?${query}`, { token: admin });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };

  beforeAll(async () => {
    api = await TestApi.start();
    admin = await api.adminToken();
    for (let i = 0; i < 12; i++) await createOrg();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('reports that nothing was verified yet before the worker ran, without walking the chain', async () => {
    const body = await verify();
    expect(body).toMatchObject({ intact: true, checked: 0, verifiedAt: null, verifiedThroughId: null, headId: await head() });
  });

  it('cursor pages cover every row exactly once while new rows are appended', async () => {
    const seen: string[] = [];
    let first: Page | null = null;
    let cursor: string | null | undefined;
    do {
      const p = await page(`limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      first ??= p;
      seen.push(...p.items.map((i) => i.id));
      cursor = p.nextCursor;
      // Newer rows arrive between pages; they belong to a newer first page, never to an older one.
      await createOrg();
    } while (cursor);
    const top = BigInt(first!.items[0]!.id);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(Array.from({ length: Number(top) }, (_, i) => (top - BigInt(i)).toString()));
    // Unfiltered, the total is the chain head's position (no count over the table).
    expect(first!.total).toBe(Number(top));
    expect(first!.totalCapped).toBe(false);
  });

  it('unfiltered offset pages (read as id ranges below the head) agree with the table, the last one included', async () => {
    const ids = (await api.sql.query(`SELECT a.id::text AS id FROM audit_events a ORDER BY a.id DESC`)).rows.map((r) => r.id as string);
    const byOffset: string[] = [];
    for (let offset = 0; offset < ids.length; offset += 7) {
      const p = await page(`limit=7&offset=${offset}`);
      expect(p.total).toBe(ids.length);
      byOffset.push(...p.items.map((i) => i.id));
      expect(p.nextCursor === null, `offset ${offset}`).toBe(offset + 7 >= ids.length);
    }
    expect(byOffset).toEqual(ids);
    expect((await page(`limit=7&offset=${ids.length + 3}`)).items).toEqual([]);
  });

  it('a filtered list pages by cursor too, with an exact total below the cap', async () => {
    const { rows } = await api.sql.query(
      `SELECT a.id::text AS id FROM audit_events a WHERE a.action = 'organization.create' ORDER BY a.id DESC`,
    );
    const expected = rows.map((r) => r.id as string);
    const seen: string[] = [];
    let cursor: string | null | undefined;
    let total: number | null = null;
    do {
      const p = await page(`action=organization.create&result=success&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(p.items.every((i) => i.action === 'organization.create')).toBe(true);
      total ??= p.total;
      seen.push(...p.items.map((i) => i.id));
      cursor = p.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expected);
    expect(total).toBe(expected.length);
    // The last page says there is none after it; offset still works and agrees with the cursor.
    const byOffset = await page(`action=organization.create&limit=4&offset=4`);
    expect(byOffset.items.map((i) => i.id)).toEqual(expected.slice(4, 8));
    const byCursor = await page(`action=organization.create&limit=4&cursor=${expected[3]}`);
    expect(byCursor.items.map((i) => i.id)).toEqual(expected.slice(4, 8));
  });

  it('counts a filtered total only up to the cap', async () => {
    const service = api.app.get(AuditService);
    const capped = await service.list({ action: 'organization.create', limit: 2, offset: 0 }, 3);
    expect(capped).toMatchObject({ total: 4, totalCapped: true });
    expect(capped.items).toHaveLength(2);
    const exact = await service.list({ action: 'organization.create', limit: 2, offset: 0 });
    expect(exact.totalCapped).toBe(false);
    expect(exact.total).toBeLessThanOrEqual(AUDIT_TOTAL_CAP);
  });

  it('refuses a cursor that is not an entry id', async () => {
    for (const bad of ['abc', '0', '-1', '1.5', '12345678901234567890']) {
      const r = await api.request('GET', `audit?cursor=${encodeURIComponent(bad)}`, { token: admin });
      expect(r.status, bad).toBe(400);
      expect(r.body.errors[0].path).toBe('query.cursor');
    }
  });

  it('the worker verifies from the last verified row on; GET audit/verify reports its recorded result', async () => {
    const full = await runMaintenanceJob<AuditVerifyResponse>(api, MaintenanceJob.VerifyAuditChain);
    const first = await head();
    // No earlier result: the first run walks the whole chain.
    expect(full).toMatchObject({ intact: true, checked: Number(first), full: true });
    expect(await verify()).toMatchObject({
      intact: true,
      checked: Number(first),
      verifiedThroughId: first,
      headId: first,
      full: true,
      verifiedAt: expect.any(String),
    });

    for (let i = 0; i < 3; i++) await createOrg();
    const second = await head();
    const incremental = await runMaintenanceJob<AuditVerifyResponse>(api, MaintenanceJob.VerifyAuditChain);
    // Only the rows appended since the last run were read.
    expect(incremental).toMatchObject({ intact: true, full: false, checked: Number(BigInt(second) - BigInt(first)) });
    expect(await verify()).toMatchObject({ intact: true, verifiedThroughId: second, checked: Number(BigInt(second) - BigInt(first)) });

    // Nothing new: nothing read.
    expect(await runMaintenanceJob(api, MaintenanceJob.VerifyAuditChain)).toMatchObject({ intact: true, checked: 0, full: false });
    // The full job walks everything again.
    expect(await runMaintenanceJob(api, MaintenanceJob.VerifyAuditChainFull)).toMatchObject({
      intact: true,
      checked: Number(second),
      full: true,
    });
  });

  it('a verification row written with database access alone is reported, and does not move the starting point', async () => {
    const before = await head();
    await runMaintenanceJob(api, MaintenanceJob.VerifyAuditChain);
    await createOrg();
    const now = await head();
    await api.sql.query(
      `INSERT INTO audit_verifications (verified_at, "full", from_id, through_id, through_hash, checked, intact, mac)
       SELECT now(), true, 1, id, hash, id, true, repeat('0', 64) FROM audit_events WHERE id = $1`,
      [now],
    );
    expect(await verify()).toMatchObject({ intact: false, reason: expect.stringMatching(/not signed by this installation$/) });
    // The next run starts from the last signed result, so it still reads the new row.
    expect(await runMaintenanceJob(api, MaintenanceJob.VerifyAuditChain)).toMatchObject({
      intact: true,
      full: false,
      checked: Number(BigInt(now) - BigInt(before)),
    });
    expect((await verify()).intact).toBe(true);
  });

  // Last: it breaks this database's chain on purpose.
  it('a row tampered with after the last verified one is reported after the next incremental run, and stays reported', async () => {
    await runMaintenanceJob(api, MaintenanceJob.VerifyAuditChain);
    const verifiedThrough = await head();
    for (let i = 0; i < 3; i++) await createOrg();
    const target = (BigInt(verifiedThrough) + 2n).toString();
    const client = await api.sql.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only');
      await client.query(`UPDATE audit_events SET details = details || '{"forged":true}' WHERE id = $1`, [target]);
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    // Still the previous (intact) result until the worker runs: the route never walks the table.
    expect((await verify()).intact).toBe(true);

    const run = await runMaintenanceJob<AuditVerifyResponse>(api, MaintenanceJob.VerifyAuditChain);
    expect(run).toMatchObject({ intact: false, full: false, firstBrokenId: target, checked: 1 });
    expect(await verify()).toMatchObject({
      intact: false,
      firstBrokenId: target,
      reason: 'row content does not match its hash',
      verifiedThroughId: verifiedThrough,
    });
    expect(await api.auditRows(`action = 'audit.chain_broken'`)).toHaveLength(1);

    // Rows after the break do not make it whole again: after a break every run walks from the first row.
    await createOrg();
    expect(await runMaintenanceJob(api, MaintenanceJob.VerifyAuditChain)).toMatchObject({
      intact: false,
      full: true,
      firstBrokenId: target,
    });
    expect(await verify()).toMatchObject({ intact: false, firstBrokenId: target });
  });
});
