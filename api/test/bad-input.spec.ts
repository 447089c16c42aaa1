import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi } from './support/harness.js';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import { runMaintenanceJob } from './support/worker-job.js';

/** Every class of bad input gets a 4xx problem+json naming the problem, and nothing is written. */
describe('bad input', () => {
  let api: TestApi;
  let admin: string;
  let auditCount: () => Promise<number>;
  const orgCount = async () => Number((await api.sql.query('SELECT count(*) FROM organizations')).rows[0].count);

  beforeAll(async () => {
    api = await TestApi.start({ API_BODY_LIMIT_BYTES: '16384' });
    admin = await api.adminToken();
    auditCount = async () => Number((await api.sql.query('SELECT count(*) FROM audit_events')).rows[0].count);
  });
  afterAll(async () => {
    await api?.stop();
  });

  function expectProblem(r: { status: number; headers: Headers; body: any }, status: number, code: string) {
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    expect(r.body.requestId).toBe(r.headers.get('x-request-id'));
  }

  it('unknown fields', async () => {
    const r = await api.request('POST', 'organizations', { token: admin, body: { name: 'X', kind: 'customer', billable: false } });
    expectProblem(r, 400, 'VALIDATION_FAILED');
    expect(r.body.detail).toContain('unknown field(s): billable');
    expect(await orgCount()).toBe(0);
  });

  it('wrong types and missing fields, each named', async () => {
    const r = await api.request('POST', 'organizations', { token: admin, body: { name: 42 } });
    expectProblem(r, 400, 'VALIDATION_FAILED');
    expect(r.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['body.kind', 'body.name']);
    const badEnum = await api.request('POST', 'organizations', { token: admin, body: { name: 'X', kind: 'partner' } });
    expect(badEnum.body.errors[0].path).toBe('body.kind');
    const badTz = await api.request('POST', 'sites', {
      token: admin,
      body: { organizationId: '00000000-0000-4000-8000-000000000000', name: 'S', timeZone: 'Mars/Olympus' },
    });
    expect(badTz.body.detail).toMatch(/IANA time zone/);
    const array = await api.request('POST', 'organizations', { token: admin, body: [1, 2] });
    expectProblem(array, 400, 'VALIDATION_FAILED');
    expect(await orgCount()).toBe(0);
  });

  it('malformed JSON and a wrong content type', async () => {
    expectProblem(await api.request('POST', 'organizations', { token: admin, rawBody: '{"name": "X", ' }), 400, 'MALFORMED_JSON');
    expectProblem(await api.request('POST', 'auth/login', { rawBody: '' }), 400, 'MALFORMED_JSON');
    const text = await api.request('POST', 'organizations', { token: admin, rawBody: 'name=X', headers: { 'content-type': 'text/plain' } });
    expectProblem(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(await orgCount()).toBe(0);
  });

  it('oversized bodies', async () => {
    const before = await auditCount();
    const r = await api.request('POST', 'organizations', { token: admin, body: { name: 'x'.repeat(20_000), kind: 'customer' } });
    expectProblem(r, 413, 'PAYLOAD_TOO_LARGE');
    const long = await api.request('POST', 'organizations', { token: admin, body: { name: 'x'.repeat(500), kind: 'customer' } });
    expect(long.body.detail).toMatch(/at most 120 characters/);
    expect(await orgCount()).toBe(0);
    // The refused name is audited once (the validation failure), the oversized body not at all (never routed).
    expect(await auditCount()).toBe(before + 1);
  });

  it('SQL metacharacters in names and filters are data, never SQL', async () => {
    const name = `Robert'); DROP TABLE organizations;--`;
    const created = await api.request('POST', 'organizations', { token: admin, body: { name, kind: 'customer' } });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe(name);
    for (const q of [`' OR '1'='1`, '%', '_', '\\', `"; SELECT pg_sleep(5); --`]) {
      const r = await api.request('GET', `organizations?q=${encodeURIComponent(q)}`, { token: admin });
      expect(r.status).toBe(200);
      expect(r.body.items).toEqual([]);
    }
    const hit = await api.request('GET', `organizations?q=${encodeURIComponent("'); DROP")}`, { token: admin });
    expect(hit.body.items.map((o: { name: string }) => o.name)).toEqual([name]);
    const users = await api.request('GET', `users?q=${encodeURIComponent("x' OR 1=1 --")}`, { token: admin });
    expect(users.body.items).toEqual([]);
    const audit = await api.request('GET', `audit?action=${encodeURIComponent("x' OR 1=1 --")}`, { token: admin });
    expect(audit.body.items).toEqual([]);
  });

  it('bad ids, unknown query parameters, out-of-range paging, control characters', async () => {
    expectProblem(await api.request('GET', 'organizations/not-a-uuid', { token: admin }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.request('GET', `organizations/${'1'.repeat(10_000)}`, { token: admin }), 414, 'URI_TOO_LONG');
    expectProblem(await api.request('GET', 'organizations?sort=name', { token: admin }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.request('GET', 'organizations?limit=100000', { token: admin }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.request('GET', 'organizations?limit=-1', { token: admin }), 400, 'VALIDATION_FAILED');
    const nul = await api.request('POST', 'organizations', { token: admin, body: { name: 'evil\u0000name', kind: 'customer' } });
    expectProblem(nul, 400, 'VALIDATION_FAILED');
    expectProblem(
      await api.request('GET', 'organizations/00000000-0000-4000-8000-000000000000', { token: admin }),
      404,
      'ORGANIZATION_NOT_FOUND',
    );
    expectProblem(await api.request('GET', 'no-such-route', { token: admin }), 404, 'ROUTE_NOT_FOUND');
  });

  it('a garbage or foreign token is a 401, never a 500', async () => {
    expectProblem(await api.request('GET', 'auth/me', { token: 'garbage' }), 401, 'AUTH_TOKEN_INVALID');
    expectProblem(await api.request('GET', 'auth/me', { headers: { authorization: 'Basic abc' } }), 401, 'AUTH_TOKEN_INVALID');
    const forged = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwic2lkIjoieSJ9.c2lnbmF0dXJl';
    expectProblem(await api.request('GET', 'auth/me', { token: forged }), 401, 'AUTH_TOKEN_INVALID');
  });

  it('a failure half way leaves nothing behind (the request transaction rolls back)', async () => {
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Rollback Co', kind: 'customer' } });
    const site = await api.request('POST', 'sites', {
      token: admin,
      body: { organizationId: org.body.id, name: 'HQ', timeZone: 'Europe/Berlin' },
    });
    expect(site.status).toBe(201);
    const dup = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'hq', timeZone: 'UTC' } });
    expectProblem(dup, 409, 'SITE_NAME_TAKEN');
    const { rows } = await api.sql.query('SELECT name FROM sites WHERE organization_id = $1', [org.body.id]);
    expect(rows).toEqual([{ name: 'HQ' }]);
    const failed = await api.auditRows(`action = 'site.create' AND result = 'failure' AND details->'body'->>'name' = 'hq'`);
    expect(failed).toHaveLength(1);
    // The worker verifies; the route reports its result.
    await runMaintenanceJob(api, MaintenanceJob.VerifyAuditChain);
    expect((await api.request('GET', 'audit/verify', { token: admin })).body).toMatchObject({ intact: true, headId: expect.any(String) });
  });
});
