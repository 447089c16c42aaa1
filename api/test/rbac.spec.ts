import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, roleHasPermission, type Role } from '@xspectre/contracts';
import { TestApi, totpCode } from './support/harness.js';
import { discoverRoutes, type DiscoveredRoute } from './support/routes.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const ACCESS_CODES = new Set([
  'AUTH_REQUIRED',
  'AUTH_FORBIDDEN',
  'AUTH_ROUTE_UNDECLARED',
  'AUTH_STEP_UP_REQUIRED',
  'AUTH_CSRF_FAILED',
  'DEVICE_AUTH_REQUIRED',
  'DEVICE_AUTH_INVALID',
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
    tokens.super_admin = admin;
    for (const role of ['soc_operator', 'read_only'] as const) {
      const user = await api.createUser(admin, role);
      tokens[role] = await api.tokenFor(user.email);
    }
    const totpAdmin = await api.createUser(admin, 'super_admin');
    const totpToken = await api.tokenFor(totpAdmin.email);
    const { secret } = await api.enableTotp(totpToken);
    await api.request('POST', 'auth/step-up', { token: totpToken, body: { code: await totpCode(secret, 0) } });
    steppedUpAdmin = totpToken;
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
    // Opting out needs a reason, and stays a short, reviewed list.
    expect(routes.filter((r) => r.audited?.notAudited).map((r) => `${r.method} ${r.path}`)).toEqual(['POST agent/heartbeats']);
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
    expect(
      routes
        .filter((r) => r.critical)
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual(['DELETE organizations/:id', 'POST devices/:id/fingerprint/accept', 'PUT settings/security']);
    expect(permissionOf('POST', 'devices/:id/fingerprint/accept')).toBe('devices.critical_actions');
    expect(permissionOf('GET', 'devices/:id/inventory')).toBe('devices.view');
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

  it('makes internal infrastructure read-only for SOC operators (helper for later features)', async () => {
    const { canMutateResource } = await import('@xspectre/contracts');
    expect(canMutateResource('super_admin', 'internal')).toBe(true);
    expect(canMutateResource('soc_operator', 'internal')).toBe(false);
    expect(canMutateResource('soc_operator', 'customer')).toBe(true);
  });
});
