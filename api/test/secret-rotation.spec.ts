import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER } from '@xspectre/contracts';
import { AuditService } from '../src/audit/audit.service.js';
import { loadConfig, ConfigError } from '../src/config/config.js';
import { keyringOf } from '../src/common/crypto/keyring.js';
import { unseal } from '../src/common/crypto/secrets.js';
import { webhookSignature } from '../src/alert-delivery/webhook.client.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_PASSWORD, TestApi, testEnv, totpCode } from './support/harness.js';
import { createOrganizationSite, enrollBody, startApiWithLabHub, type LabHub } from './support/fleet.js';

const WEBHOOK_SECRET = `whsec-${randomUUID()}`;
const keyA = randomBytes(48).toString('base64');
const keyB = randomBytes(48).toString('base64');
const keyWrong = randomBytes(48).toString('base64');
const GHOST_EMAIL = `ghost-${randomBytes(4).toString('hex')}@test.local`;

/** A webhook receiver that answers 204 and keeps what it got. */
async function startReceiver(): Promise<{
  url: string;
  received: Array<{ headers: Record<string, string>; body: string }>;
  server: Server;
}> {
  const received: Array<{ headers: Record<string, string>; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}

/**
 * API_SECRET_KEY rotation (api/README.md, "Rotating secrets"): an installation runs with key A,
 * then restarts with B and API_SECRET_KEY_PREVIOUS=A, then with B alone. Every instance here is
 * the real API over one database, Redis prefix, key store and checkpoint directory.
 */
describe('API_SECRET_KEY rotation', () => {
  let hub: LabHub;
  let first: TestApi;
  let current: TestApi | null = null;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let hubSettings: Record<string, string>;

  // Made with key A.
  let adminAccess: string;
  let adminRefresh: string;
  const totpUsers: Array<{ email: string; secret: string }> = [];
  let claimCodeDuringRotation: string;
  let claimCodeAfterRotation: string;
  let targetId: string;
  let organizationId: string;

  const restart = async (overrides: Record<string, string>): Promise<TestApi> => {
    if (current) await current.app.close();
    current = await TestApi.startSibling(first, { ...hubSettings, ...overrides });
    return current;
  };
  const sealedRows = async (api: TestApi) => {
    const users = await api.sql.query<{ sealed: string }>(
      `SELECT totp_secret_sealed AS sealed FROM users WHERE email = ANY($1) ORDER BY email`,
      [totpUsers.map((u) => u.email)],
    );
    const targets = await api.sql.query<{ sealed: string }>(`SELECT secret_sealed AS sealed FROM alert_targets WHERE id = $1`, [targetId]);
    return { totp: users.rows.map((r) => r.sealed), target: targets.rows[0]!.sealed };
  };
  /** A two-step sign-in of the n-th TOTP operator. */
  const totpLogin = async (api: TestApi, n: number) => {
    const user = totpUsers[n]!;
    const step1 = await api.login(user.email, TEST_PASSWORD);
    expect(step1.body, step1.text).toMatchObject({ mfaRequired: true });
    return api.request('POST', 'auth/totp/verify', { body: { mfaToken: step1.body.mfaToken, code: await totpCode(user.secret, 0) } });
  };
  const sendTest = async (api: TestApi, token: string) => {
    const before = receiver.received.length;
    const tested = await api.request('POST', `alert-targets/${targetId}/test`, { token });
    expect(tested.status, tested.text).toBe(200);
    return { tested: tested.body, got: receiver.received.slice(before) };
  };
  const anchorLines = async (api: TestApi) =>
    (await readFile(join(api.config.API_AUDIT_ANCHOR_DIR, 'audit-anchors.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { kid?: string; id: string });

  beforeAll(async () => {
    receiver = await startReceiver();
    // A long login backoff: the unknown-email state made under A must still hold after the restarts.
    ({ api: first, hub } = await startApiWithLabHub({ API_SECRET_KEY: keyA, API_LOGIN_BACKOFF_BASE_MS: '600000' }));
    hubSettings = {
      API_WG_INTERFACE: hub.interfaceName,
      API_WG_NETNS: hub.netns,
      API_AGENT_SOURCE_CHECK: 'false',
      API_LOGIN_BACKOFF_BASE_MS: '600000',
    };
    const login = await first.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(login.status, login.text).toBe(200);
    adminAccess = login.body.accessToken as string;
    adminRefresh = login.body.refreshToken as string;
    // One operator with TOTP per later sign-in: a code's time step is used up once, per user.
    for (let i = 0; i < 3; i++) {
      const user = await first.createUser(adminAccess, 'soc_operator');
      const { secret } = await first.enableTotp(await first.tokenFor(user.email));
      totpUsers.push({ email: user.email, secret });
    }

    const place = await createOrganizationSite(first, adminAccess, 'Rotation Co');
    organizationId = place.organizationId;
    const device = async (name: string) => {
      const created = await first.request('POST', 'devices', { token: adminAccess, body: { name, ...place, type: 'server' } });
      expect(created.status, created.text).toBe(201);
      return created.body.claimCode.code as string;
    };
    claimCodeDuringRotation = await device('rotating-1');
    claimCodeAfterRotation = await device('rotating-2');

    const target = await first.request('POST', 'alert-targets', {
      token: adminAccess,
      body: {
        kind: 'webhook',
        name: 'Rotation hook',
        routing: { severities: ['critical'], organizationIds: [organizationId], includeFleet: false },
        allowPrivateAddress: true,
        config: { url: receiver.url },
        secret: WEBHOOK_SECRET,
      },
    });
    expect(target.status, target.text).toBe(201);
    targetId = target.body.id as string;

    // An unknown email backs off after API_LOGIN_BACKOFF_AFTER (5) failures, counted in Redis under A's HMAC.
    for (let i = 0; i < 5; i++) expect((await first.login(GHOST_EMAIL, 'wrong-password-123')).status).toBe(401);
    expect((await first.login(GHOST_EMAIL, 'wrong-password-123')).body.code).toBe('AUTH_LOGIN_BACKOFF');

    // Audit checkpoints and a signed verification, all with key A.
    const verified = await first.app.get(AuditService).verifyChain({ full: true });
    expect(verified.intact).toBe(true);
    await first.app.close();
  }, 120_000);

  afterAll(async () => {
    if (current) await current.app.close();
    await first?.sql.end();
    // first's app is closed already: drop its database and directories through a sibling-free stop.
    await (first as unknown as { dropDb: () => Promise<void> })?.dropDb();
    await hub?.stop();
    await new Promise((r) => receiver?.server.close(r));
  });

  it('with B and PREVIOUS=A nobody is logged out, TOTP, claim codes, alert secrets and the audit chain still work, and re-seal moves the sealed values to B', async () => {
    const api = await restart({ API_SECRET_KEY: keyB, API_SECRET_KEY_PREVIOUS: keyA });
    // The access token signed with A is still valid.
    const me = await api.request('GET', 'auth/me', { token: adminAccess });
    expect(me.status, me.text).toBe(200);
    // The refresh token (opaque, not signed with the secret key) still refreshes; the new access token is signed with B.
    const refreshed = await api.request('POST', 'auth/refresh', { body: { refreshToken: adminRefresh } });
    expect(refreshed.status, refreshed.text).toBe(200);
    adminRefresh = refreshed.body.refreshToken as string;

    // The boot step re-sealed the TOTP secret and the alert target secret with B, audited once with counts.
    const rows = await sealedRows(api);
    const b = keyringOf({ API_SECRET_KEY: keyB }).current;
    expect(rows.totp.map((sealed) => unseal(b.fieldSeal, sealed)).sort()).toEqual(totpUsers.map((u) => u.secret).sort());
    expect(unseal(b.alertTargetSeal, rows.target)).toBe(WEBHOOK_SECRET);
    const resealed = await api.auditRows(`action = 'secrets.resealed'`);
    expect(resealed).toHaveLength(1);
    expect(resealed[0].details).toMatchObject({ resealed: { totpSecrets: 3, alertTargetSecrets: 1 } });

    // The unknown email's backoff, counted under A, still holds.
    expect((await api.login(GHOST_EMAIL, 'wrong-password-123')).body.code).toBe('AUTH_LOGIN_BACKOFF');

    // TOTP login works.
    const mfa = await totpLogin(api, 0);
    expect(mfa.status, mfa.text).toBe(200);
    const token = adminAccess;

    // The alert target's secret unseals: the test delivery is signed with it.
    const { tested, got } = await sendTest(api, token);
    expect(tested).toMatchObject({ ok: true, status: 204 });
    expect(got[0]!.headers[WEBHOOK_SIGNATURE_HEADER]).toBe(
      webhookSignature(WEBHOOK_SECRET, got[0]!.headers[WEBHOOK_TIMESTAMP_HEADER]!, got[0]!.body),
    );

    // A claim code issued under A still enrolls.
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(claimCodeDuringRotation) });
    expect(enrolled.status, enrolled.text).toBe(201);

    // The audit chain verifies intact; the re-seal step re-anchored it with B (a checkpoint naming B's key id).
    const verified = await api.app.get(AuditService).verifyChain();
    expect(verified).toMatchObject({ intact: true });
    const lines = await anchorLines(api);
    const kidB = lines.at(-1)!.kid;
    expect(kidB).toMatch(/^[0-9a-f]{16}$/);
    expect(lines.some((l) => l.kid !== undefined && l.kid !== kidB)).toBe(true);

    // A second boot with the same settings finds nothing to re-seal and records nothing.
    const again = await restart({ API_SECRET_KEY: keyB, API_SECRET_KEY_PREVIOUS: keyA });
    expect(await again.auditRows(`action = 'secrets.resealed'`)).toHaveLength(1);
    expect(await sealedRows(again)).toEqual(rows);
  }, 120_000);

  it('with B alone everything but A-signed access tokens and unused A claim codes still works', async () => {
    const api = await restart({ API_SECRET_KEY: keyB });
    // The A-signed access token (not yet expired: 10 min by default) is refused now: its key is gone.
    const me = await api.request('GET', 'auth/me', { token: adminAccess });
    expect(me.status).toBe(401);
    expect(me.body.code).toBe('AUTH_TOKEN_INVALID');
    // Refresh tokens are not signed with the key: the session goes on.
    const refreshed = await api.request('POST', 'auth/refresh', { body: { refreshToken: adminRefresh } });
    expect(refreshed.status, refreshed.text).toBe(200);
    adminRefresh = refreshed.body.refreshToken as string;

    // The unknown email's failures counted under A are forgotten with A (documented; they expire after 7 days anyway).
    const ghost = await api.login(GHOST_EMAIL, 'wrong-password-123');
    expect(ghost.status).toBe(401);
    expect(ghost.body.code).toBe('AUTH_INVALID_CREDENTIALS');

    const mfa = await totpLogin(api, 1);
    expect(mfa.status, mfa.text).toBe(200);
    expect((await sendTest(api, refreshed.body.accessToken as string)).tested).toMatchObject({ ok: true, status: 204 });

    // The chain verifies intact, from the checkpoint and verification signed with B.
    const verified = await api.app.get(AuditService).verifyChain();
    expect(verified).toMatchObject({ intact: true });
    const full = await api.app.get(AuditService).verifyChain({ full: true });
    expect(full).toMatchObject({ intact: true });

    // A claim code issued under A and not used before PREVIOUS was dropped no longer enrolls (hence: wait its 24 h lifetime).
    const refused = await api.request('POST', 'enroll', { body: enrollBody(claimCodeAfterRotation) });
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('CLAIM_CODE_INVALID');
  }, 120_000);

  it('a wrong PREVIOUS is harmless: values sealed with a key that is neither fail with the existing clear errors', async () => {
    // Seal the target's secret with a third key, as if the installation had lost it.
    const stray = keyringOf({ API_SECRET_KEY: keyWrong }).current;
    const { seal } = await import('../src/common/crypto/secrets.js');
    const api = current!;
    await api.sql.query(`UPDATE alert_targets SET secret_sealed = $1 WHERE id = $2`, [seal(stray.alertTargetSeal, 'lost'), targetId]);
    const rotated = await restart({ API_SECRET_KEY: keyB, API_SECRET_KEY_PREVIOUS: randomBytes(48).toString('base64') });
    const mfa = await totpLogin(rotated, 2);
    expect(mfa.status, mfa.text).toBe(200);
    const refreshed = await rotated.request('POST', 'auth/refresh', { body: { refreshToken: adminRefresh } });
    expect(refreshed.status, refreshed.text).toBe(200);
    const { tested } = await sendTest(rotated, refreshed.body.accessToken as string);
    expect(tested.ok).toBe(false);
    expect(tested.message).toContain('cannot be unsealed');
    // Nothing was re-sealed (nothing opened with the wrong key); the unreadable value is left alone.
    expect(await rotated.auditRows(`action = 'secrets.resealed'`)).toHaveLength(1);
  }, 120_000);
});

describe('API_SECRET_KEY_PREVIOUS validation', () => {
  const env = (overrides: Record<string, string>) => testEnv('postgres://u@127.0.0.1:5432/d', overrides);
  const problems = (overrides: Record<string, string>): string[] => {
    try {
      loadConfig(env(overrides));
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it('refuses PREVIOUS equal to the key, and a short one; accepts a different one', () => {
    expect(problems({ API_SECRET_KEY: keyA, API_SECRET_KEY_PREVIOUS: keyA }).join('\n')).toContain(
      'API_SECRET_KEY_PREVIOUS equals API_SECRET_KEY',
    );
    expect(problems({ API_SECRET_KEY: keyA, API_SECRET_KEY_PREVIOUS: 'short' }).join('\n')).toMatch(/API_SECRET_KEY_PREVIOUS.*at least 32/);
    expect(problems({ API_SECRET_KEY: keyA, API_SECRET_KEY_PREVIOUS: keyB })).toEqual([]);
    expect(loadConfig(env({ API_SECRET_KEY: keyA })).API_SECRET_KEY_PREVIOUS).toBeUndefined();
  });
});
