import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@xspectre/wireguard';
import { ADMIN_EMAIL, TestApi, type Reply } from './support/harness.js';
import { stepUp } from './support/step-up.js';
import { enrollBody, hubPeers, startApiWithLabHub, type LabHub } from './support/fleet.js';

type Hub = LabHub;

/** Rounds per race: enough to hit each interleaving several times, bounded for a 2-core machine. */
const ROUNDS = 20;

/**
 * Requests that race on the same rows, many rounds each, against the real API, PostgreSQL and
 * a wireguard-go hub: no round may answer 5xx (a deadlock, a unique or foreign-key violation),
 * and every round ends in one consistent outcome.
 */
describe('races', () => {
  let hub: Hub;
  let api: TestApi;
  let admin: string;
  let where: { orgId: string; siteId: string };
  let serial = 0;

  async function newDevice(siteId = where.siteId, orgId = where.orgId) {
    const r = await api.request('POST', 'devices', {
      token: admin,
      body: { name: `race-${++serial}`, organizationId: orgId, siteId, type: 'scanner' },
    });
    if (r.status !== 201) throw new Error(`create device: ${r.status} ${r.text}`);
    return { id: r.body.device.id as string, code: r.body.claimCode.code as string, codeId: r.body.claimCode.id as string };
  }

  function expectNo5xx(round: number, replies: Reply[]): void {
    const failed = replies.filter((r) => r.status >= 500).map((r) => `${r.status} ${r.body?.code} ${r.body?.detail}`);
    expect(failed, `round ${round}`).toEqual([]);
  }

  async function codeStatus(codeId: string): Promise<string> {
    const { rows } = await api.sql.query(
      `SELECT CASE WHEN used_at IS NOT NULL THEN 'used' WHEN revoked_at IS NOT NULL THEN 'revoked' ELSE 'active' END AS s
         FROM claim_codes WHERE id = $1`,
      [codeId],
    );
    return rows[0].s;
  }

  async function leases(deviceId: string): Promise<number> {
    const { rows } = await api.sql.query(`SELECT count(*)::int AS n FROM overlay_leases WHERE device_id = $1 AND released_at IS NULL`, [
      deviceId,
    ]);
    return rows[0].n;
  }

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub({
      API_ENROLL_RATE_LIMIT_PER_IP: '100000',
      // Every round takes addresses: the customer pool (.20-.99) would run dry.
      API_OVERLAY_CIDR: '10.10.0.0/16',
      API_OVERLAY_POOL_CUSTOMER: '10.10.1.0-10.10.9.255',
    }));
    admin = await api.adminToken();
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Race Corp', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
    where = { orgId: org.body.id, siteId: site.body.id };
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('two enrollments with one WireGuard key through two codes: one wins, the other gets 409 and keeps its code', async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const [a, b] = [await newDevice(), await newDevice()];
      const key = generateKeyPair().publicKey;
      const replies = await Promise.all(
        [a, b].map((d) => api.request('POST', 'enroll', { body: enrollBody(d.code, { wgPublicKey: key }) })),
      );
      expectNo5xx(round, replies);
      expect(replies.map((r) => r.status).sort(), `round ${round}`).toEqual([201, 409]);
      const loser = replies[0]!.status === 409 ? a : b;
      expect(replies.find((r) => r.status === 409)!.body.code).toBe('ENROLL_KEY_IN_USE');
      // The loser's transaction left nothing behind: code unused, device pending, no address held.
      expect(await codeStatus(loser.codeId)).toBe('active');
      expect(await leases(loser.id)).toBe(0);
      const again = await api.request('POST', 'enroll', { body: enrollBody(loser.code) });
      expect(again.status, `round ${round}: ${again.text}`).toBe(201);
    }
  });

  it('enrollment racing a revoke or retire of the same device: no deadlock, a clear answer each side', async () => {
    const keys: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const device = await newDevice();
      const action = round % 2 === 0 ? 'revoke' : 'retire';
      const body = enrollBody(device.code);
      keys.push(body.wgPublicKey);
      const [enrolled, ended] = await Promise.all([
        api.request('POST', 'enroll', { body }),
        api.request('POST', `devices/${device.id}/${action}`, { token: admin }),
      ]);
      expectNo5xx(round, [enrolled, ended]);
      // The operator's revoke always succeeds: before enrollment it cuts off a pending device, after it an active one.
      expect(ended.status, `round ${round}: ${ended.text}`).toBe(201);
      expect(ended.body.status).toBe(action === 'revoke' ? 'revoked' : 'retired');
      if (enrolled.status !== 201) expect([enrolled.status, enrolled.body.code], `round ${round}`).toEqual([410, 'CLAIM_CODE_REVOKED']);
      expect(await leases(device.id)).toBe(0);
      expect(['revoked', 'used']).toContain(await codeStatus(device.codeId));
    }
    // Whichever side won, no revoked or retired device keeps a hub peer.
    expect((await hubPeers(hub)).filter((p) => keys.includes(p.publicKey))).toEqual([]);
  });

  it('a new claim code racing an enrollment with the old one: never both', async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const device = await newDevice();
      const [enrolled, issued] = await Promise.all([
        api.request('POST', 'enroll', { body: enrollBody(device.code) }),
        api.request('POST', `devices/${device.id}/claim-codes`, { token: admin }),
      ]);
      expectNo5xx(round, [enrolled, issued]);
      if (enrolled.status === 201) {
        // Enrolled first: the device is no longer pending, so no new (unusable) code is handed out.
        expect([issued.status, issued.body.code], `round ${round}`).toEqual([409, 'DEVICE_NOT_PENDING']);
      } else {
        expect([enrolled.status, enrolled.body.code], `round ${round}`).toEqual([410, 'CLAIM_CODE_REVOKED']);
        expect(issued.status).toBe(201);
        expect((await api.request('POST', 'enroll', { body: enrollBody(issued.body.code) })).status).toBe(201);
      }
      const { rows } = await api.sql.query(
        `SELECT count(*)::int AS n FROM claim_codes WHERE device_id = $1 AND used_at IS NULL AND revoked_at IS NULL`,
        [device.id],
      );
      expect(rows[0].n, `round ${round}: an enrolled device keeps no open code`).toBe(0);
    }
  });

  it('revoking a claim code racing an enrollment with it: one of the two, never a 5xx', async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const device = await newDevice();
      const [enrolled, revoked] = await Promise.all([
        api.request('POST', 'enroll', { body: enrollBody(device.code) }),
        api.request('POST', `claim-codes/${device.codeId}/revoke`, { token: admin }),
      ]);
      expectNo5xx(round, [enrolled, revoked]);
      expect(revoked.status).toBe(201);
      expect(revoked.body.status).toBe(enrolled.status === 201 ? 'used' : 'revoked');
      if (enrolled.status !== 201) expect(enrolled.body.code).toBe('CLAIM_CODE_REVOKED');
    }
  });

  it('creating a device racing the deletion of its site: a 404 or a 409, never a 5xx', async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const site = await api.request('POST', 'sites', {
        token: admin,
        body: { organizationId: where.orgId, name: `Doomed ${round}`, timeZone: 'UTC' },
      });
      const [created, deleted] = await Promise.all([
        api.request('POST', 'devices', {
          token: admin,
          body: { name: `doomed-${round}`, organizationId: where.orgId, siteId: site.body.id, type: 'server' },
        }),
        api.request('DELETE', `sites/${site.body.id}`, { token: admin }),
      ]);
      expectNo5xx(round, [created, deleted]);
      if (created.status === 201) expect([deleted.status, deleted.body.code], `round ${round}`).toEqual([409, 'SITE_NOT_EMPTY']);
      else {
        expect([created.status, created.body.code], `round ${round}`).toEqual([404, 'SITE_NOT_FOUND']);
        expect(deleted.status).toBe(204);
      }
    }
  });
  it('two Super Admins demoting each other at once: one wins, a Super Admin always remains', async () => {
    await stepUp(api, admin);
    const other = await api.createUser(admin, 'super_admin');
    const otherToken = await api.tokenFor(other.email);
    await stepUp(api, otherToken);
    const adminId = (await api.sql.query('SELECT id FROM users WHERE email = $1', [ADMIN_EMAIL])).rows[0].id as string;
    const sessions = [
      { token: admin, id: adminId },
      { token: otherToken, id: other.id },
    ];
    const activeSuperAdmins = async () =>
      Number((await api.sql.query(`SELECT count(*) FROM users WHERE role = 'super_admin' AND status = 'active'`)).rows[0].count);
    for (let round = 1; round <= 10; round++) {
      const replies = await Promise.all(
        sessions.map((s, i) => api.request('PATCH', `users/${sessions[1 - i]!.id}`, { token: s.token, body: { role: 'soc_operator' } })),
      );
      expectNo5xx(round, replies);
      expect(
        replies.filter((r) => r.status === 200),
        `round ${round}`,
      ).toHaveLength(1);
      expect(await activeSuperAdmins(), `round ${round}`).toBe(1);
      // The winner promotes the other back for the next round.
      const winner = replies.findIndex((r) => r.status === 200);
      const back = await api.request('PATCH', `users/${sessions[1 - winner]!.id}`, {
        token: sessions[winner]!.token,
        body: { role: 'super_admin' },
      });
      expect(back.status).toBe(200);
    }
  });
});
