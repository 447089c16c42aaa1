import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@xspectre/wireguard';
import { buildOpenApiDocument } from '../src/openapi/openapi.js';
import { TestApi, totpCode, uniqueEmail } from './support/harness.js';
import { enrollTestDevice, startApiWithLabHub, type LabHub } from './support/fleet.js';
import {
  HOSTILE_PATH_VALUES,
  HOSTILE_QUERY_VALUES,
  HOSTILE_RAW_BODIES,
  HOSTILE_VALUES,
  REMOVE,
  exemplar,
  pathsOf,
  withValueAt,
  type JsonSchema,
  type Samples,
} from './support/fuzz.js';

type Caller = 'anonymous' | 'read_only' | 'soc_operator' | 'super_admin' | 'device' | 'service';
interface Operation {
  method: string;
  /** Relative to /api/v1, with {params}. */
  path: string;
  params: string[];
  query: Array<{ name: string; schema: JsonSchema }>;
  body: JsonSchema | undefined;
}

/**
 * Every route, every caller, malformed values of every type in every body field, query parameter
 * and path parameter: nothing may answer 5xx, and every refusal is a problem with a code.
 */
describe('route fuzzing', () => {
  let api: TestApi;
  let hub: LabHub;
  const tokens = {} as Record<Caller, string | undefined>;
  const ids: Record<string, string> = {};
  let operations: Operation[];
  let sequence = 1;
  let sent = 0;
  /** Operations some request got a 2xx from, as the most privileged caller: the fuzzing got past validation there. */
  const accepted = new Set<string>();
  const serverErrors: string[] = [];
  const shapeless: string[] = [];

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub({
      API_ACCESS_TOKEN_TTL_SECONDS: '3600',
      API_STEP_UP_TTL_SECONDS: '3600',
      API_BCRYPT_COST: '10',
      API_LOG_LEVEL: 'silent',
    }));
    // The bootstrap Super Admin, with TOTP and a step-up, can do everything, critical routes included.
    const admin = await api.adminToken();
    const { secret } = await api.enableTotp(admin);
    const stepUp = await api.request('POST', 'auth/step-up', { token: admin, body: { code: await totpCode(secret, 1) } });
    expect(stepUp.status).toBe(200);
    tokens.super_admin = admin;
    const enrolled = await enrollTestDevice(api, admin, { organization: 'Fuzz Org', device: 'fuzz-enrolled' });
    tokens.device = enrolled.credential;
    const service = await api.request('POST', 'service-credentials', {
      token: admin,
      body: { service: 'backup-server', name: 'fuzz-backup' },
    });
    expect(service.status, service.text).toBe(201);
    tokens.service = service.body.secret;
    ids.enrolledDevice = enrolled.deviceId;
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Fuzz Target Org', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'S', timeZone: 'UTC' } });
    const pending = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'fuzz-pending', organizationId: org.body.id, siteId: site.body.id, type: 'scanner' },
    });
    Object.assign(ids, { organizations: org.body.id, sites: site.body.id, devices: pending.body.device.id });
    ids['claim-codes'] = pending.body.claimCode.id;
    ids.users = (await api.createUser(admin, 'read_only')).id;
    for (const role of ['read_only', 'soc_operator'] as const) tokens[role] = await api.tokenFor((await api.createUser(admin, role)).email);
    operations = operationsOf(buildOpenApiDocument(api.app) as unknown as OpenApiDoc);
  }, 180_000);
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  const samples: Samples = {
    deviceId: () => ids.enrolledDevice,
    organizationId: () => ids.organizations,
    siteId: () => ids.sites,
    userId: () => ids.users,
    sequence: () => sequence++,
    claimCode: () => 'AAAA-BBBB-CCCC-DDDD-EEEE',
    wgPublicKey: () => generateKeyPair().publicKey,
    sshHostKey: () => `ssh-ed25519 ${randomBytes(32).toString('base64')} fuzz`,
    installationSalt: () => randomBytes(16).toString('base64url'),
    hostname: () => 'fuzz-host',
    macs: () => ['52:54:00:12:34:56'],
    localIps: () => ['192.0.2.7'],
    email: () => uniqueEmail('fuzz'),
    password: () => 'fuzz-password-long-enough',
    timeZone: () => 'UTC',
    code: () => '000000',
    protocolVersion: () => 1,
    from: () => new Date(Date.now() - 3600_000).toISOString(),
    to: () => new Date().toISOString(),
    step: () => 60,
  };

  async function send(caller: Caller, method: string, path: string, body: { json?: unknown; raw?: string } = {}, label = '') {
    const token = caller === 'anonymous' ? undefined : tokens[caller];
    const r = await api.request(method, path, {
      ...(token ? { token } : {}),
      ...(body.raw !== undefined ? { rawBody: body.raw } : body.json !== undefined ? { body: body.json } : {}),
    });
    sent += 1;
    if (r.status < 300) accepted.add(`${method} ${path.split('?')[0]}`);
    const what = `${caller} ${method} ${path.slice(0, 160)} ${label}`.trim();
    if (r.status >= 500) serverErrors.push(`${r.status} ${what}: ${r.text.slice(0, 200)}`);
    else if (r.status >= 400 && r.status !== 426 && typeof r.body?.code !== 'string') shapeless.push(`${r.status} ${what}`);
    return r;
  }

  const fill = (op: Operation, pathValue?: (param: string) => string) =>
    op.path.replace(/\{(\w+)\}/g, (_, p: string) => pathValue?.(p) ?? ids[op.path.split('/')[0]!] ?? ids.devices!);

  /** The caller that gets furthest into a route: past the guard, so the validation is what is fuzzed. */
  const deepCaller = (op: Operation): Caller =>
    op.path.startsWith('agent/') ? 'device' : op.path.startsWith('backup-server/') ? 'service' : 'super_admin';

  it('answers no 5xx to any caller, path, query or body', async () => {
    const all: Caller[] = ['anonymous', 'read_only', 'soc_operator', 'super_admin', 'device', 'service'];
    // Logging out would end the session the rest of the run uses: it goes last.
    const ordered = [...operations.filter((o) => o.path !== 'auth/logout'), ...operations.filter((o) => o.path === 'auth/logout')];
    for (const op of ordered) {
      const hasBody = op.body !== undefined;
      const base = hasBody ? exemplar(op.body, samples) : undefined;
      // Every caller with the plausible request and with each hostile path value.
      for (const caller of all) {
        await send(caller, op.method, fill(op), hasBody ? { json: base } : {}, 'exemplar');
        for (const value of op.params.length ? HOSTILE_PATH_VALUES : [])
          await send(
            caller,
            op.method,
            fill(op, () => value),
            hasBody ? { json: base } : {},
            'path',
          );
      }
      const caller = deepCaller(op);
      for (const param of op.query) {
        for (const value of HOSTILE_QUERY_VALUES) await send(caller, op.method, `${fill(op)}?${param.name}=${value}`, {}, 'query');
        await send(caller, op.method, `${fill(op)}?${param.name}=1&${param.name}=2`, {}, 'repeated query');
      }
      if (op.query.length) await send(caller, op.method, `${fill(op)}?unknownParameter=1`, {}, 'unknown query');
      if (!hasBody && op.method === 'GET') continue;
      for (const raw of HOSTILE_RAW_BODIES) await send(caller, op.method, fill(op), { raw }, `raw ${raw.slice(0, 20)}`);
      if (!hasBody) continue;
      for (const path of pathsOf(base)) {
        const label = `body.${path.join('.')}`;
        for (const value of HOSTILE_VALUES)
          await send(caller, op.method, fill(op), { json: withValueAt(exemplar(op.body, samples), path, value) }, label);
        if (path.length) await send(caller, op.method, fill(op), { json: withValueAt(base, path, REMOVE) }, `${label} removed`);
      }
      await send(caller, op.method, fill(op), { json: { ...(base as object), unknownField: 'x'.repeat(100) } }, 'unknown field');
    }
    console.log(
      `route fuzzing: ${operations.length} operations, ${sent} requests, ${accepted.size} operation/path pairs accepted some request, ${serverErrors.length} answered 5xx`,
    );
    expect(serverErrors).toEqual([]);
    expect(shapeless).toEqual([]);
    expect(sent).toBeGreaterThan(5000);
  }, 900_000);
});

interface OpenApiDoc {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ name: string; in: string; schema: JsonSchema }>;
        requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
      }
    >
  >;
}

function operationsOf(doc: OpenApiDoc): Operation[] {
  const out: Operation[] = [];
  for (const [fullPath, methods] of Object.entries(doc.paths)) {
    if (!fullPath.startsWith('/api/v1/')) continue;
    for (const [method, op] of Object.entries(methods)) {
      const parameters = op.parameters ?? [];
      out.push({
        method: method.toUpperCase(),
        path: fullPath.slice('/api/v1/'.length),
        params: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: parameters.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema })),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return out;
}
