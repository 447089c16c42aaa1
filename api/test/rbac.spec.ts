import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, roleHasPermission, type Role } from '@xspectre/contracts';
import { TEST_PASSWORD, TestApi, uniqueEmail } from './support/harness.js';
import { discoverRoutes, type DiscoveredRoute } from './support/routes.js';
import { stepUp } from './support/step-up.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const ACCESS_CODES = new Set([
  'AUTH_REQUIRED',
  'AUTH_FORBIDDEN',
  'AUTH_ROUTE_UNDECLARED',
  'AUTH_STEP_UP_REQUIRED',
  'AUTH_CSRF_FAILED',
  'DEVICE_AUTH_REQUIRED',
  'DEVICE_AUTH_INVALID',
  'SERVICE_AUTH_REQUIRED',
  'SERVICE_AUTH_INVALID',
]);
type Caller = Role | 'anonymous';

function urlOf(route: DiscoveredRoute): string {
  return route.path.replace(/:[a-zA-Z]+/g, '00000000-0000-4000-8000-000000000000');
}

/** What the guard must answer, derived from the route's declaration and the role table. */
function expectedCode(route: DiscoveredRoute, caller: Caller, steppedUp: boolean): string | null {
  const access = route.access!;
  if (access.kind === 'public') return null;
  // Agent routes take a device credential only: an operator session is no way in.
  if (access.kind === 'device') return caller === 'anonymous' ? 'DEVICE_AUTH_REQUIRED' : 'DEVICE_AUTH_INVALID';
  // Service routes take a service credential of their kind only: neither a session nor a device credential.
  if (access.kind === 'service') return caller === 'anonymous' ? 'SERVICE_AUTH_REQUIRED' : 'SERVICE_AUTH_INVALID';
  // Recovery routes take a recovery stick's credential only: neither a session nor a device credential.
  if (access.kind === 'recovery') return caller === 'anonymous' ? 'RECOVERY_AUTH_REQUIRED' : 'RECOVERY_AUTH_INVALID';
  if (caller === 'anonymous') return 'AUTH_REQUIRED';
  if (access.kind === 'permission' && !roleHasPermission(caller, access.permission)) return 'AUTH_FORBIDDEN';
  if (route.critical && !steppedUp) return 'AUTH_STEP_UP_REQUIRED';
  return null;
}

describe('RBAC', () => {
  let api: TestApi;
  let routes: DiscoveredRoute[];
  const tokens = {} as Record<Role, string>;
  let steppedUpAdmin: string;

  beforeAll(async () => {
    api = await TestApi.start();
    routes = discoverRoutes(api.app);
    const admin = await api.adminToken();
    for (const role of ['soc_operator', 'read_only'] as const) {
      const user = await api.createUser(admin, role);
      tokens[role] = await api.tokenFor(user.email);
    }
    // Creating a Super Admin is itself critical: the bootstrap admin steps up first.
    await stepUp(api, admin);
    steppedUpAdmin = admin;
    const plainAdmin = await api.createUser(admin, 'super_admin');
    tokens.super_admin = await api.tokenFor(plainAdmin.email);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('finds the routes', () => {
    expect(routes.length).toBeGreaterThan(25);
    expect(routes.map((r) => `${r.method} ${r.path}`)).toContain('GET audit/verify');
  });

  it('every route declares who may call it, and every mutating route its audit action', () => {
    const undeclared = routes.filter((r) => !r.access).map((r) => `${r.method} ${r.path} (${r.handler})`);
    expect(undeclared).toEqual([]);
    const unaudited = routes.filter((r) => MUTATING.has(r.method) && !r.audited).map((r) => `${r.method} ${r.path}`);
    expect(unaudited).toEqual([]);
    // Opting out needs a reason, and stays a short, reviewed list: device telemetry at fleet rate (heartbeats, a backup's progress
    // every 2 s), and the SAML assertion consumer, whose service audits each outcome itself (a refusal with its reason).
    expect(
      routes
        .filter((r) => r.audited?.notAudited)
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual(['POST agent/backup-progress', 'POST agent/heartbeats', 'POST agent/recovery/progress', 'POST auth/sso/saml/:id/acs']);
  });

  it('pins the permissions of the routes that matter most', () => {
    const permissionOf = (method: string, path: string) => {
      const route = routes.find((r) => r.method === method && r.path === path);
      return route?.access?.kind === 'permission' ? route.access.permission : route?.access?.kind;
    };
    expect(permissionOf('POST', 'users')).toBe('users.manage');
    expect(permissionOf('PATCH', 'users/:id')).toBe('users.manage');
    expect(permissionOf('GET', 'audit')).toBe('audit.view');
    expect(permissionOf('GET', 'audit/verify')).toBe('audit.view');
    expect(permissionOf('POST', 'organizations')).toBe('settings.manage');
    expect(permissionOf('PUT', 'settings/security')).toBe('settings.manage');
    expect(permissionOf('GET', 'health')).toBe('public');
    expect(permissionOf('POST', 'auth/login')).toBe('public');
    expect(permissionOf('POST', 'enroll')).toBe('public');
    expect(permissionOf('POST', 'agent/heartbeats')).toBe('device');
    expect(permissionOf('POST', 'devices')).toBe('devices.manage');
    expect(permissionOf('POST', 'devices/:id/revoke')).toBe('devices.manage');
    expect(permissionOf('GET', 'devices')).toBe('devices.view');
    expect(permissionOf('GET', 'claim-codes')).toBe('devices.manage');
    expect(permissionOf('POST', 'devices/:id/commands')).toBe('devices.manage');
    expect(permissionOf('POST', 'devices/:id/critical-commands')).toBe('devices.critical_actions');
    expect(permissionOf('GET', 'commands')).toBe('devices.view');
    // Bulk: the same pair, so the matrix sees criticality (one command and one audit row per device).
    expect(permissionOf('POST', 'commands/bulk')).toBe('devices.manage');
    expect(permissionOf('POST', 'critical-commands/bulk')).toBe('devices.critical_actions');
    const auditedAs = (method: string, path: string) => routes.find((r) => r.method === method && r.path === path)?.audited?.action;
    expect(auditedAs('POST', 'commands/bulk')).toBe('command.queue');
    expect(auditedAs('POST', 'critical-commands/bulk')).toBe('command.queue_critical');
    expect(permissionOf('GET', 'agent/commands')).toBe('device');
    expect(permissionOf('POST', 'agent/commands/:id/status')).toBe('device');
    // The script library: everyone who sees devices reads it; changing it is Super Admin's, with step-up.
    expect(permissionOf('GET', 'scripts')).toBe('devices.view');
    expect(permissionOf('GET', 'scripts/:id')).toBe('devices.view');
    expect(permissionOf('POST', 'scripts')).toBe('scripts.manage');
    expect(permissionOf('PUT', 'scripts/:id')).toBe('scripts.manage');
    expect(permissionOf('DELETE', 'scripts/:id')).toBe('scripts.manage');
    expect(permissionOf('GET', 'agent/commands/:id/script')).toBe('device');
    // An agent update's executable: the device's own update in progress only (agent.update is queued on the critical routes above).
    expect(permissionOf('GET', 'agent/commands/:id/agent-build')).toBe('device');
    // Managed settings: a rotated credential is handed over by the device itself; the command key rotates by Super Admins with step-up.
    expect(permissionOf('POST', 'agent/credential')).toBe('device');
    expect(auditedAs('POST', 'agent/credential')).toBe('device.credential_rotate');
    expect(permissionOf('POST', 'keys/command-signing/rotate')).toBe('settings.manage');
    expect(auditedAs('POST', 'keys/command-signing/rotate')).toBe('keys.command_signing_rotate');
    // Alert delivery targets and the dead-letter list are settings: tokens and where alerts go.
    for (const [method, path] of [
      ['GET', 'alert-targets'],
      ['POST', 'alert-targets'],
      ['PATCH', 'alert-targets/:id'],
      ['DELETE', 'alert-targets/:id'],
      ['POST', 'alert-targets/:id/test'],
      ['GET', 'alert-deliveries'],
      ['POST', 'alert-deliveries/:id/retry'],
    ] as const)
      expect(permissionOf(method, path), `${method} ${path}`).toBe('settings.manage');
    expect(auditedAs('POST', 'alert-targets/:id/test')).toBe('alert_target.test');
    expect(auditedAs('POST', 'alert-deliveries/:id/retry')).toBe('alert_delivery.retry');
    // Alerts: everyone reads them; acknowledging, resolving and silencing is alerts.ack (SOC operators
    // too; internal infrastructure's are refused by the service); rules are settings.
    for (const path of ['alerts', 'alerts/counts', 'alerts/:id', 'alert-rules', 'silences'])
      expect(permissionOf('GET', path), `GET ${path}`).toBe('alerts.view');
    for (const [method, path] of [
      ['POST', 'alerts/:id/ack'],
      ['POST', 'alerts/:id/resolve'],
      ['POST', 'silences'],
      ['DELETE', 'silences/:id'],
    ] as const)
      expect(permissionOf(method, path), `${method} ${path}`).toBe('alerts.ack');
    for (const [method, path] of [
      ['POST', 'alert-rules'],
      ['PATCH', 'alert-rules/:id'],
      ['DELETE', 'alert-rules/:id'],
    ] as const)
      expect(permissionOf(method, path), `${method} ${path}`).toBe('settings.manage');
    expect(auditedAs('POST', 'alerts/:id/ack')).toBe('alert.acknowledge');
    expect(auditedAs('POST', 'alerts/:id/resolve')).toBe('alert.resolve');
    expect(auditedAs('POST', 'silences')).toBe('silence.create');
    expect(auditedAs('PATCH', 'alert-rules/:id')).toBe('alert_rule.update');
    expect(
      routes
        .filter((r) => r.critical)
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual([
      'DELETE devices/:id/recovery-media/:mediumId',
      'DELETE identity-providers/:id',
      'DELETE organizations/:id',
      'DELETE scripts/:id',
      'DELETE service-credentials/:id',
      'DELETE users/:id/identities/:identityId',
      'GET devices/:id/backup-escrow',
      'GET devices/:id/recovery-media/:mediumId/image',
      'PATCH identity-providers/:id',
      'POST critical-commands/bulk',
      'POST devices/:id/backup-restores',
      'POST devices/:id/critical-commands',
      'POST devices/:id/disk-images',
      'POST devices/:id/disk-images/:imageName/restore',
      'POST devices/:id/fingerprint/accept',
      'POST devices/:id/recovery-media',
      'POST devices/:id/scanner/report-summaries',
      'POST devices/:id/ssh-host-key/accept',
      'POST identity-providers',
      'POST keys/command-signing/rotate',
      'POST scripts',
      'POST service-credentials',
      'POST users/:id/identities',
      'POST users/:id/totp/reset',
      'POST users/:id/unlock',
      'PUT backups/recovery-key',
      'PUT scripts/:id',
      'PUT settings/security',
      'PUT sso/policy',
    ]);
    expect(permissionOf('POST', 'devices/:id/fingerprint/accept')).toBe('devices.critical_actions');
    expect(permissionOf('POST', 'devices/:id/ssh-host-key/accept')).toBe('devices.critical_actions');
    expect(auditedAs('POST', 'devices/:id/ssh-host-key/accept')).toBe('device.ssh_host_key_accept');
    expect(permissionOf('GET', 'devices/:id/ssh-host-key')).toBe('devices.view');
    // Scanner results leave the site only for scanner_results.view (Super Admin); the feed schedule is devices.manage.
    expect(permissionOf('POST', 'devices/:id/scanner/report-summaries')).toBe('scanner_results.view');
    expect(permissionOf('GET', 'devices/:id/scanner/report-summaries/:commandId')).toBe('scanner_results.view');
    expect(permissionOf('GET', 'scanners')).toBe('devices.view');
    expect(permissionOf('PUT', 'sites/:id/scanner-feed-schedule')).toBe('devices.manage');
    expect(auditedAs('PUT', 'sites/:id/scanner-feed-schedule')).toBe('scanner.feed_schedule_update');
    // Backups: policies are backups.*; tokens go to devices for their own runs; the backup server reports with its service credential.
    expect(permissionOf('GET', 'devices/:id/backup-policy')).toBe('backups.view');
    expect(permissionOf('PUT', 'devices/:id/backup-policy')).toBe('backups.trigger');
    expect(permissionOf('POST', 'devices/:id/backup-runs')).toBe('backups.trigger');
    expect(permissionOf('POST', 'devices/:id/backup-restores')).toBe('backups.restore');
    expect(permissionOf('POST', 'agent/backup-tokens')).toBe('device');
    expect(permissionOf('GET', 'backups/token-keys')).toBe('settings.manage');
    expect(permissionOf('POST', 'backup-server/report')).toBe('service');
    // The password escrow (Super Admin-only permissions; the two critical ones are pinned above): the key is public, counts are backups.view.
    expect(permissionOf('GET', 'backups/recovery-key')).toBe('backups.view');
    expect(permissionOf('PUT', 'backups/recovery-key')).toBe('settings.manage');
    expect(permissionOf('GET', 'devices/:id/backup-escrow')).toBe('backups.restore');
    expect(permissionOf('GET', 'devices/:id/backup-transfer-key')).toBe('backups.restore');
    expect(permissionOf('POST', 'agent/backup-transfer-key')).toBe('device');
    expect(auditedAs('PUT', 'backups/recovery-key')).toBe('backup.recovery_key_set');
    // Full-disk images: viewing is backups.view; taking (it reboots the device) and restoring are critical actions.
    expect(permissionOf('GET', 'disk-images')).toBe('backups.view');
    expect(permissionOf('GET', 'devices/:id/disk-images')).toBe('backups.view');
    expect(permissionOf('POST', 'devices/:id/disk-images')).toBe('devices.critical_actions');
    expect(permissionOf('POST', 'devices/:id/disk-images/:imageName/restore')).toBe('devices.critical_actions');
    expect(auditedAs('POST', 'devices/:id/disk-images')).toBe('disk_image.take');
    expect(auditedAs('POST', 'devices/:id/disk-images/:imageName/restore')).toBe('disk_image.restore');
    expect(permissionOf('POST', 'agent/recovery/image-tokens')).toBe('recovery');
    expect(permissionOf('POST', 'agent/recovery/images')).toBe('recovery');
    expect(auditedAs('POST', 'agent/recovery/image-tokens')).toBe('disk_image.token_issue');
    expect(auditedAs('POST', 'agent/recovery/images')).toBe('disk_image.report');
    // Recovery media (issue 16): viewing is devices.view; creating, downloading the image (it holds the stick's secrets) and revoking are critical.
    expect(permissionOf('GET', 'devices/:id/recovery-media')).toBe('devices.view');
    expect(permissionOf('POST', 'devices/:id/recovery-media')).toBe('devices.critical_actions');
    expect(permissionOf('GET', 'devices/:id/recovery-media/:mediumId/image')).toBe('devices.critical_actions');
    expect(permissionOf('DELETE', 'devices/:id/recovery-media/:mediumId')).toBe('devices.critical_actions');
    expect(auditedAs('POST', 'devices/:id/recovery-media')).toBe('recovery_medium.create');
    expect(auditedAs('DELETE', 'devices/:id/recovery-media/:mediumId')).toBe('recovery_medium.revoke');
    // The recovery stick's own routes: its credential only.
    for (const [method, path] of [
      ['POST', 'agent/recovery/register'],
      ['GET', 'agent/recovery/commands'],
      ['POST', 'agent/recovery/commands/:id/status'],
      ['POST', 'agent/recovery/progress'],
    ] as const)
      expect(permissionOf(method, path), `${method} ${path}`).toBe('recovery');
    expect(auditedAs('POST', 'agent/recovery/register')).toBe('recovery.register');
    expect(permissionOf('POST', 'service-credentials')).toBe('settings.manage');
    expect(permissionOf('GET', 'devices/:id/inventory')).toBe('devices.view');
    // Single sign-on: identity providers decide who gets which role (Super Admin only); linking an identity is users.manage.
    for (const [method, path, action] of [
      ['GET', 'identity-providers', undefined],
      ['GET', 'identity-providers/:id', undefined],
      ['POST', 'identity-providers', 'sso.provider_create'],
      ['PATCH', 'identity-providers/:id', 'sso.provider_update'],
      ['DELETE', 'identity-providers/:id', 'sso.provider_delete'],
      ['POST', 'identity-providers/saml-metadata', 'sso.metadata_import'],
      ['POST', 'identity-providers/oidc-discovery', 'sso.oidc_discovery'],
      ['POST', 'identity-providers/:id/test', 'sso.provider_test'],
      ['POST', 'identity-providers/:id/role-preview', 'sso.role_preview'],
      ['GET', 'sso/policy', undefined],
      ['PUT', 'sso/policy', 'sso.policy_update'],
    ] as const) {
      expect(permissionOf(method, path), `${method} ${path}`).toBe('identity_providers.manage');
      expect(auditedAs(method, path), `${method} ${path}`).toBe(action);
    }
    expect(permissionOf('POST', 'users/:id/identities')).toBe('users.manage');
    expect(auditedAs('POST', 'users/:id/identities')).toBe('user.identity_link');
    expect(permissionOf('DELETE', 'users/:id/identities/:identityId')).toBe('users.manage');
    expect(auditedAs('DELETE', 'users/:id/identities/:identityId')).toBe('user.identity_unlink');
  });

  it('every route × every role (and anonymous) gets the answer the role table implies', async () => {
    const mismatches: string[] = [];
    // Logout ends the caller's session, so it runs last.
    const ordered = [...routes].sort((a, b) => Number(a.path === 'auth/logout') - Number(b.path === 'auth/logout'));
    for (const route of ordered) {
      const callers: Array<[Caller, string | undefined, boolean]> = [
        ['anonymous', undefined, false],
        ...ROLES.map((role) => [role, tokens[role], false] as [Caller, string, boolean]),
        ['super_admin', steppedUpAdmin, true],
      ];
      for (const [caller, token, steppedUp] of callers) {
        if (route.path === 'auth/logout' && caller !== 'anonymous' && caller !== 'read_only') continue;
        const r = await api.request(route.method, urlOf(route), { token, ...(MUTATING.has(route.method) ? { body: {} } : {}) });
        const expected = expectedCode(route, caller, steppedUp);
        const got = typeof r.body === 'object' && r.body ? (r.body.code as string | undefined) : undefined;
        // A public route's own answer may be 401 (login without a refresh token, say): only the guard's codes count.
        const blocked =
          got !== undefined &&
          (route.access?.kind === 'public' ? got === 'AUTH_FORBIDDEN' || got === 'AUTH_ROUTE_UNDECLARED' : ACCESS_CODES.has(got));
        const ok = expected ? got === expected : !blocked && r.status !== 500;
        if (!ok)
          mismatches.push(
            `${route.method} /${route.path} as ${caller}${steppedUp ? ' (stepped up)' : ''}: expected ${expected ?? 'access granted'}, got ${r.status} ${got ?? ''}`,
          );
      }
    }
    expect(mismatches).toEqual([]);
  });

  // Critical by what the body asks for (users.service.ts): granting or removing Super Admin.
  it('needs step-up to create, promote, demote, disable or enable a Super Admin, not for other user changes', async () => {
    const plain = tokens.super_admin;
    const refusals: string[] = [];
    const expectRefused = async (what: string, method: string, path: string, body: object) => {
      const r = await api.request(method, path, { token: plain, body });
      if (r.status !== 403 || r.body.code !== 'AUTH_STEP_UP_REQUIRED') refusals.push(`${what}: ${r.status} ${r.body?.code ?? ''}`);
    };
    const expectOk = async (what: string, token: string, method: string, path: string, body: object, status = 200) => {
      const r = await api.request(method, path, { token, body });
      if (r.status !== status) refusals.push(`${what}: expected ${status}, got ${r.status} ${r.body?.code ?? ''}`);
    };
    const roleOf = async (id: string) => (await api.sql.query('SELECT role, status FROM users WHERE id = $1', [id])).rows[0];

    const newAdmin = { email: uniqueEmail('sa'), displayName: 'New admin', role: 'super_admin', password: TEST_PASSWORD };
    await expectRefused('create super_admin', 'POST', 'users', newAdmin);
    expect((await api.sql.query('SELECT 1 FROM users WHERE email = $1', [newAdmin.email])).rows).toHaveLength(0);

    // Not critical: a SOC operator, and renaming anyone.
    const op = await api.createUser(plain, 'soc_operator');
    await expectOk('rename operator', plain, 'PATCH', `users/${op.id}`, { displayName: 'Renamed operator' });
    await expectRefused('promote', 'PATCH', `users/${op.id}`, { role: 'super_admin' });
    expect(await roleOf(op.id)).toEqual({ role: 'soc_operator', status: 'active' });

    const sa = await api.createUser(steppedUpAdmin, 'super_admin');
    await expectOk('rename super admin', plain, 'PATCH', `users/${sa.id}`, { displayName: 'Renamed admin' });
    await expectRefused('demote', 'PATCH', `users/${sa.id}`, { role: 'read_only' });
    await expectRefused('disable super admin', 'PATCH', `users/${sa.id}`, { status: 'disabled' });
    expect(await roleOf(sa.id)).toEqual({ role: 'super_admin', status: 'active' });

    // A stepped-up session may do all of it.
    await expectOk('create super_admin stepped up', steppedUpAdmin, 'POST', 'users', newAdmin, 201);
    await expectOk('promote stepped up', steppedUpAdmin, 'PATCH', `users/${op.id}`, { role: 'super_admin' });
    await expectOk('disable stepped up', steppedUpAdmin, 'PATCH', `users/${sa.id}`, { status: 'disabled' });
    await expectRefused('enable super admin', 'PATCH', `users/${sa.id}`, { status: 'active' });
    expect(await roleOf(sa.id)).toEqual({ role: 'super_admin', status: 'disabled' });
    await expectOk('enable stepped up', steppedUpAdmin, 'PATCH', `users/${sa.id}`, { status: 'active' });
    await expectOk('demote stepped up', steppedUpAdmin, 'PATCH', `users/${op.id}`, { role: 'soc_operator' });
    expect(refusals).toEqual([]);

    // Each refusal is in the audit trail like any other failed request.
    const failed = await api.auditRows(
      `result = 'failure' AND error_message LIKE 'AUTH_STEP_UP_REQUIRED:%' AND (resource_id = ANY($1) OR action = 'user.create')`,
      [[op.id, sa.id]],
    );
    expect(failed.map((row) => row.action).sort()).toEqual([
      'user.create',
      'user.disable',
      'user.enable',
      'user.role_change',
      'user.role_change',
    ]);
  });

  it('makes internal infrastructure read-only for SOC operators (helper for later features)', async () => {
    const { canMutateResource } = await import('@xspectre/contracts');
    expect(canMutateResource('super_admin', 'internal')).toBe(true);
    expect(canMutateResource('soc_operator', 'internal')).toBe(false);
    expect(canMutateResource('soc_operator', 'customer')).toBe(true);
  });
});
