import * as oidc from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OidcSettingsSchema, type OidcSettings } from '@xspectre/contracts';
import { loadConfig } from '../src/config/config.js';
import { OidcProtocol } from '../src/sso/oidc/oidc-protocol.js';
import { SsoFailure, type OidcProviderConfig, type SsoAssertion } from '../src/sso/sso-assertion.js';
import { freePort } from './support/built-process.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_PASSWORD, TestApi, testEnv, totpCode } from './support/harness.js';
import { IdpBrowser, TestOidcProvider } from './support/oidc-provider.js';
import { stepUp } from './support/step-up.js';

/**
 * OpenID Connect sign-in (issue 18) against a real OpenID provider (oidc-provider 9 on
 * 127.0.0.1, api/test/support/oidc-provider.ts): first the relying party alone (OidcProtocol:
 * the ID token checks, with tokens the provider really issued or tampered after issuing), then the
 * whole flow through the API.
 */

describe('OidcProtocol against a local OpenID provider', () => {
  let idp: TestOidcProvider;
  let browser: IdpBrowser;
  let protocol: OidcProtocol;
  const redirectUri = 'http://127.0.0.1:9/api/v1/auth/sso/oidc/p1/callback';

  function providerConfig(overrides: Partial<OidcSettings> = {}, preset: OidcProviderConfig['preset'] = 'generic'): OidcProviderConfig {
    return {
      id: 'p1',
      preset,
      settings: { ...OidcSettingsSchema.parse({ issuer: idp.issuer, clientId: idp.clientId }), ...overrides },
      clientSecret: idp.clientSecret,
      sp: { entityId: '', acsUrl: '', metadataUrl: '', redirectUri },
    };
  }

  /** One sign-in through the protocol; the callback's result, or the SsoFailure it threw. */
  async function signIn(
    username: string,
    options: { reauthenticate?: boolean; provider?: OidcProviderConfig; mangleCallback?: (url: URL) => void } = {},
  ): Promise<{ result: SsoAssertion | SsoFailure; prompted: boolean; authorizationUrl: URL }> {
    const provider = options.provider ?? providerConfig();
    const flow = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
      reauthenticate: !!options.reauthenticate,
    };
    const authorizationUrl = await protocol.authorizationUrl(provider, flow);
    const { callbackUrl, prompted } = await browser.signIn(authorizationUrl, username);
    const url = new URL(callbackUrl);
    options.mangleCallback?.(url);
    const result = await protocol.callback(provider, url, flow).catch((error: unknown) => {
      if (error instanceof SsoFailure) return error;
      throw error;
    });
    return { result, prompted, authorizationUrl: new URL(authorizationUrl) };
  }

  function reasonOf(result: SsoAssertion | SsoFailure): string {
    return result instanceof SsoFailure ? result.reason : 'accepted';
  }

  beforeAll(async () => {
    idp = await TestOidcProvider.start({ redirectUris: [redirectUri] });
    protocol = new OidcProtocol(loadConfig(testEnv('postgres://unused@127.0.0.1/unused')));
  });
  afterAll(async () => {
    await idp?.stop();
  });
  beforeEach(() => {
    browser = new IdpBrowser(idp);
    idp.setAccount('ana', { sub: 'sub-ana', email: 'ana@example.com', name: 'Ana Operator', groups: ['soc'], amr: ['pwd', 'otp'] });
  });

  it('signs in with the code flow and PKCE S256, and reads the claims', async () => {
    const { result, prompted, authorizationUrl } = await signIn('ana');
    expect(prompted).toBe(true);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('redirect_uri')).toBe(redirectUri);
    expect(authorizationUrl.searchParams.get('prompt')).toBeNull();
    expect(result).toMatchObject({ subject: 'sub-ana', email: 'ana@example.com', displayName: 'Ana Operator', groups: ['soc'], mfa: true });
    expect((result as SsoAssertion).authenticatedAt).toBeInstanceOf(Date);
  });

  it('reports no MFA evidence as null, a password-only amr as false, and a one-string group claim as one group', async () => {
    idp.setAccount('ana', { sub: 'sub-ana', email: 'ana@example.com', groups: 'soc' as unknown as string[] });
    expect((await signIn('ana')).result).toMatchObject({ mfa: null, groups: ['soc'] });
    idp.setAccount('ana', { sub: 'sub-ana', email: 'ana@example.com', amr: ['pwd'] });
    browser.clear();
    expect((await signIn('ana')).result).toMatchObject({ mfa: false, groups: [] });
  });

  it('drops an e-mail the provider says is not verified', async () => {
    idp.setAccount('ana', { sub: 'sub-ana', email: 'ana@example.com', emailVerified: false });
    expect((await signIn('ana')).result).toMatchObject({ subject: 'sub-ana', email: null });
  });

  it('asks the provider to authenticate again for a step-up (prompt=login, max_age=0) and accepts the fresh auth_time', async () => {
    await signIn('ana');
    // The provider session alone signs in again without a prompt …
    expect((await signIn('ana')).prompted).toBe(false);
    // … a step-up makes it ask.
    const { result, prompted, authorizationUrl } = await signIn('ana', { reauthenticate: true });
    expect(authorizationUrl.searchParams.get('prompt')).toBe('login');
    expect(authorizationUrl.searchParams.get('max_age')).toBe('0');
    expect(prompted).toBe(true);
    expect(reasonOf(result)).toBe('accepted');
  });

  it('refuses a step-up whose auth_time is old (a provider that did not ask again)', async () => {
    idp.setAccount('ana', { sub: 'sub-ana', email: 'ana@example.com', authTimeOffsetSeconds: -600 });
    expect(reasonOf((await signIn('ana', { reauthenticate: true })).result)).toBe('reauth_missing');
  });

  it('refuses a state that is not the one sent, and repeated parameters', async () => {
    expect(reasonOf((await signIn('ana', { mangleCallback: (u) => u.searchParams.set('state', 'another-state-value') })).result)).toBe(
      'state_mismatch',
    );
    expect(reasonOf((await signIn('ana', { mangleCallback: (u) => u.searchParams.append('code', 'x') })).result)).toBe('malformed');
  });

  it('reports an error answer of the provider as idp_error, and a mix-up (another iss) as wrong_issuer', async () => {
    const errored = await signIn('ana', {
      mangleCallback: (u) => {
        u.searchParams.delete('code');
        u.searchParams.set('error', 'access_denied');
      },
    });
    expect(errored.result).toMatchObject({ reason: 'idp_error' });
    expect((errored.result as SsoFailure).detail).toContain('access_denied');
    expect(reasonOf((await signIn('ana', { mangleCallback: (u) => u.searchParams.set('iss', 'https://evil.example') })).result)).toBe(
      'wrong_issuer',
    );
  });

  it('reports a code used twice or a wrong PKCE verifier as the token endpoint refusing it (idp_error)', async () => {
    const provider = providerConfig();
    const flow = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
      reauthenticate: false,
    };
    const { callbackUrl } = await browser.signIn(await protocol.authorizationUrl(provider, flow), 'ana');
    expect(await protocol.callback(provider, new URL(callbackUrl), flow)).toMatchObject({ subject: 'sub-ana' });
    const again = await protocol.callback(provider, new URL(callbackUrl), flow).catch((e: unknown) => e);
    expect(again).toMatchObject({ reason: 'idp_error' });
    expect((again as SsoFailure).detail).toContain('invalid_grant');

    const other = { ...flow, state: oidc.randomState() };
    const second = await browser.signIn(await protocol.authorizationUrl(provider, other), 'ana');
    const wrongVerifier = await protocol
      .callback(provider, new URL(second.callbackUrl), { ...other, codeVerifier: oidc.randomPKCECodeVerifier() })
      .catch((e: unknown) => e);
    expect(wrongVerifier).toMatchObject({ reason: 'idp_error' });
    expect((wrongVerifier as SsoFailure).detail).toContain('invalid_grant');
  });

  it('refuses an ID token whose signature does not verify', async () => {
    idp.tamperNextIdToken = { resign: false, claims: (c) => (c.groups = ['xs-admins']) };
    expect(reasonOf((await signIn('ana')).result)).toBe('token_invalid');
  });

  it('refuses a validly signed ID token with another nonce, audience or issuer, or expired, or issued in the future', async () => {
    idp.tamperNextIdToken = { resign: true, claims: (c) => (c.nonce = 'not-this-sign-in') };
    expect(reasonOf((await signIn('ana')).result)).toBe('nonce_mismatch');
    idp.tamperNextIdToken = { resign: true, claims: (c) => (c.aud = 'another-client') };
    expect(reasonOf((await signIn('ana')).result)).toBe('token_invalid');
    idp.tamperNextIdToken = { resign: true, claims: (c) => (c.iss = 'https://evil.example') };
    expect(reasonOf((await signIn('ana')).result)).toBe('token_invalid');
    idp.tamperNextIdToken = { resign: true, claims: (c) => (c.exp = Math.floor(Date.now() / 1000) - 3600) };
    expect(reasonOf((await signIn('ana')).result)).toBe('token_invalid');
    idp.tamperNextIdToken = { resign: true, claims: (c) => (c.iat = Math.floor(Date.now() / 1000) + 3600) };
    expect(reasonOf((await signIn('ana')).result)).toBe('token_invalid');
    idp.tamperNextIdToken = { resign: true, claims: (c) => delete c.sub };
    expect(reasonOf((await signIn('ana')).result)).toBe('subject_missing');
  });

  it('checks the Entra tenant and the Google Workspace domain, and sends hd for Google', async () => {
    idp.setAccount('ana', { sub: 'sub-ana', email: 'ana@example.com', tid: 'tenant-a', hd: 'example.com' });
    const entra = (tenantId: string) => providerConfig({ tenantId }, 'entra');
    expect(reasonOf((await signIn('ana', { provider: entra('tenant-a') })).result)).toBe('accepted');
    expect(reasonOf((await signIn('ana', { provider: entra('tenant-b') })).result)).toBe('tenant_refused');
    const google = (hostedDomain: string) => providerConfig({ hostedDomain }, 'google');
    const allowed = await signIn('ana', { provider: google('example.com') });
    expect(reasonOf(allowed.result)).toBe('accepted');
    expect(allowed.authorizationUrl.searchParams.get('hd')).toBe('example.com');
    expect(reasonOf((await signIn('ana', { provider: google('other.example') })).result)).toBe('hosted_domain_refused');
    idp.setAccount('ana', { sub: 'sub-ana', email: 'ana@example.com' });
    expect(reasonOf((await signIn('ana', { provider: google('example.com') })).result)).toBe('hosted_domain_refused');
  });

  it('reads the e-mail and name from UserInfo when the ID token leaves them out (OpenID Connect Core 5.4)', async () => {
    const strict = await TestOidcProvider.start({ redirectUris: [redirectUri], profileInUserInfoOnly: true });
    try {
      strict.setAccount('ana', { sub: 'sub-ana', email: 'ana@example.com', name: 'Ana Operator', groups: ['soc'], amr: ['otp'] });
      strict.tamperNextIdToken = { resign: true, claims: (c) => expect(c.email).toBeUndefined() };
      const provider = {
        ...providerConfig(),
        clientSecret: strict.clientSecret,
        settings: { ...providerConfig().settings, issuer: strict.issuer, clientId: strict.clientId },
      };
      const flow = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier: oidc.randomPKCECodeVerifier(),
        reauthenticate: false,
      };
      const { callbackUrl } = await new IdpBrowser(strict).signIn(await protocol.authorizationUrl(provider, flow), 'ana');
      expect(await protocol.callback(provider, new URL(callbackUrl), flow)).toMatchObject({
        subject: 'sub-ana',
        email: 'ana@example.com',
        displayName: 'Ana Operator',
        groups: ['soc'],
        mfa: true,
      });
    } finally {
      await strict.stop();
    }
  });

  it('reports an unreachable provider as idp_error', async () => {
    const gone = await TestOidcProvider.start();
    const issuer = gone.issuer;
    await gone.stop();
    const provider = { ...providerConfig(), settings: { ...providerConfig().settings, issuer } };
    const flow = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
      reauthenticate: false,
    };
    await expect(protocol.authorizationUrl(provider, flow)).rejects.toMatchObject({ reason: 'idp_error' });
  });
});

describe('OIDC sign-in through the API', () => {
  let idp: TestOidcProvider;
  let api: TestApi;
  let adminToken: string;
  let adminTotp: string;
  let adminId: string;
  /** Providers created through POST identity-providers (helper D's route), by preset. */
  const providers: Record<'generic' | 'entra' | 'google', string> = { generic: '', entra: '', google: '' };

  interface SsoResult {
    status: number;
    location: string;
    /** The sso_error of a refusal's redirect; null on success. */
    error: string | null;
    accessToken: string | null;
    callbackUrl: string;
    binding: string | null;
    prompted: boolean;
  }

  function cookie(response: Response, name: string): string | null {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      if (pair.startsWith(`${name}=`)) return pair.slice(name.length + 1) || null;
    }
    return null;
  }

  /** The browser's way back: the callback URL with (or without) the binding cookie the start gave. */
  async function callback(callbackUrl: string, binding: string | null): Promise<Omit<SsoResult, 'callbackUrl' | 'binding' | 'prompted'>> {
    const done = await fetch(callbackUrl, { redirect: 'manual', headers: binding ? { cookie: `xs_sso_binding=${binding}` } : {} });
    await done.body?.cancel();
    const location = done.headers.get('location') ?? '';
    return {
      status: done.status,
      location,
      error: location ? new URL(location).searchParams.get('sso_error') : null,
      accessToken: cookie(done, 'xs_access'),
    };
  }

  /** A whole sign-in as a browser does it: the API's start, the provider's login form, the callback. */
  async function ssoLogin(providerId: string, username: string, browser = new IdpBrowser(idp), returnTo = '/fleet'): Promise<SsoResult> {
    const start = await fetch(`${api.baseUrl}/api/v1/auth/sso/${providerId}/login?returnTo=${encodeURIComponent(returnTo)}`, {
      redirect: 'manual',
    });
    await start.body?.cancel();
    expect(start.status).toBe(302);
    const binding = cookie(start, 'xs_sso_binding');
    const { callbackUrl, prompted } = await browser.signIn(start.headers.get('location')!, username);
    return { ...(await callback(callbackUrl, binding)), callbackUrl, binding, prompted };
  }

  /** A step-up of an SSO session: POST auth/sso/step-up, the provider, the callback. */
  async function ssoStepUp(
    token: string,
    username: string,
    browser: IdpBrowser,
    returnTo = '/admin/users',
  ): Promise<SsoResult & { redirectUrl: URL }> {
    const response = await fetch(`${api.baseUrl}/api/v1/auth/sso/step-up`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ returnTo }),
    });
    const body = (await response.json()) as { redirectUrl: string };
    expect(response.status, JSON.stringify(body)).toBe(200);
    const binding = cookie(response, 'xs_sso_binding');
    const { callbackUrl, prompted } = await browser.signIn(body.redirectUrl, username);
    return { ...(await callback(callbackUrl, binding)), callbackUrl, binding, prompted, redirectUrl: new URL(body.redirectUrl) };
  }

  async function createProvider(preset: 'generic' | 'entra' | 'google', oidcSettings: Record<string, unknown> = {}): Promise<string> {
    const r = await api.request('POST', 'identity-providers', {
      token: adminToken,
      body: {
        protocol: 'oidc',
        name: `Test ${preset}`,
        preset,
        allowedEmailDomains: ['example.com'],
        roleRules: [
          { group: 'xs-admins', role: 'super_admin' },
          { group: 'soc', role: 'soc_operator' },
          { group: 'auditors', role: 'read_only' },
        ],
        oidc: { issuer: idp.issuer, clientId: idp.clientId, ...oidcSettings },
        clientSecret: idp.clientSecret,
      },
    });
    expect(r.status, r.text).toBe(201);
    idp.redirectUris.push(r.body.serviceProvider.redirectUri);
    return r.body.id as string;
  }

  async function me(token: string) {
    return api.request('GET', 'auth/me', { token });
  }

  async function failures(reason: string, action = 'auth.sso_login') {
    return api.auditRows(`action = $1 AND result = 'failure' AND details->>'reason' = $2`, [action, reason]);
  }

  async function userByEmail(email: string) {
    return (await api.sql.query('SELECT id, role, status, password_hash FROM users WHERE lower(email) = lower($1)', [email])).rows[0];
  }

  beforeAll(async () => {
    idp = await TestOidcProvider.start();
    const port = await freePort();
    // The IdP sends browsers back to the console, whose /api is the API: here the API itself.
    api = await TestApi.start({ API_CONSOLE_URL: `http://127.0.0.1:${port}`, API_STEP_UP_TTL_SECONDS: '3600' }, { port });
    adminToken = await api.adminToken();
    adminTotp = await stepUp(api, adminToken);
    adminId = (await me(adminToken)).body.id;
    providers.generic = await createProvider('generic');
    providers.entra = await createProvider('entra', { tenantId: 'tenant-a' });
    providers.google = await createProvider('google', { hostedDomain: 'example.com' });
  });
  afterAll(async () => {
    await api?.stop();
    await idp?.stop();
  });

  it('offers the providers on the sign-in page', async () => {
    const r = await api.request('GET', 'auth/sso/providers');
    expect(r.status).toBe(200);
    expect(r.body.providers.map((p: any) => p.preset).sort()).toEqual(['entra', 'generic', 'google']);
    expect(r.body.ssoRequired).toBe(false);
  });

  it('creates the user just in time with the role of the first matching group, and signs in with SSO', async () => {
    idp.setAccount('ana', { sub: 'sub-ana', email: 'ana@example.com', name: 'Ana Operator', groups: ['auditors', 'soc'] });
    const login = await ssoLogin(providers.generic, 'ana');
    expect(login.status).toBe(303);
    expect(login.location).toBe(`${api.baseUrl}/fleet`);
    expect(login.accessToken).toBeTruthy();
    const who = await me(login.accessToken!);
    expect(who.body).toMatchObject({ email: 'ana@example.com', role: 'soc_operator', authMethod: 'sso', ssoProviderId: providers.generic });
    const row = await userByEmail('ana@example.com');
    expect(row.password_hash).toBeNull();
    expect(await api.auditRows(`action = 'auth.sso_user_created' AND resource_id = $1`, [row.id])).toHaveLength(1);
    const logins = await api.auditRows(`action = 'auth.sso_login' AND result = 'success' AND resource_id = $1`, [row.id]);
    expect(logins.at(-1).details).toMatchObject({ providerId: providers.generic, role: 'soc_operator', jit: true });
  });

  it('gives no access when no group matches: no user is created', async () => {
    idp.setAccount('bob', { sub: 'sub-bob', email: 'bob@example.com', groups: ['marketing'] });
    const login = await ssoLogin(providers.generic, 'bob');
    expect(login.status).toBe(303);
    expect(login.location).toBe(`${api.baseUrl}/sign-in?sso_error=unknown_group`);
    expect(login.accessToken).toBeNull();
    expect(await userByEmail('bob@example.com')).toBeUndefined();
    expect(await failures('unknown_group')).toHaveLength(1);
  });

  it('applies a group change at the next login, and audits the role change', async () => {
    idp.setAccount('gus', { sub: 'sub-gus', email: 'gus@example.com', groups: ['soc'] });
    expect((await ssoLogin(providers.generic, 'gus')).error).toBeNull();
    const id = (await userByEmail('gus@example.com')).id;
    idp.setAccount('gus', { sub: 'sub-gus', email: 'gus@example.com', groups: ['auditors'] });
    const again = await ssoLogin(providers.generic, 'gus');
    expect((await me(again.accessToken!)).body).toMatchObject({ id, role: 'read_only' });
    const changes = await api.auditRows(`action = 'auth.sso_role_changed' AND resource_id = $1`, [id]);
    expect(changes).toHaveLength(1);
    expect(changes[0].details).toMatchObject({ from: 'soc_operator', to: 'read_only' });
    // Matched by the subject, not the e-mail: a new address at the provider is still the same user.
    idp.setAccount('gus', { sub: 'sub-gus', email: 'gus.renamed@example.com', groups: ['auditors'] });
    expect((await me((await ssoLogin(providers.generic, 'gus')).accessToken!)).body.id).toBe(id);
  });

  it('does not take over a local account with the same e-mail until an administrator links the identity', async () => {
    const local = await api.createUser(adminToken, 'soc_operator', 'carol@example.com');
    idp.setAccount('carol', { sub: 'sub-carol', email: 'carol@example.com', groups: ['soc'] });
    const refused = await ssoLogin(providers.generic, 'carol');
    expect(refused.error).toBe('email_taken');
    expect(await failures('email_taken')).toHaveLength(1);
    const link = await api.request('POST', `users/${local.id}/identities`, {
      token: adminToken,
      body: { providerId: providers.generic, subject: 'sub-carol' },
    });
    expect(link.status, link.text).toBe(201);
    const linked = await ssoLogin(providers.generic, 'carol');
    expect(linked.error).toBeNull();
    expect((await me(linked.accessToken!)).body).toMatchObject({ id: local.id, authMethod: 'sso' });
  });

  it('refuses an e-mail domain that is not allowed', async () => {
    idp.setAccount('dave', { sub: 'sub-dave', email: 'dave@other.example', groups: ['soc'] });
    expect((await ssoLogin(providers.generic, 'dave')).error).toBe('domain_refused');
    expect(await userByEmail('dave@other.example')).toBeUndefined();
    expect(await failures('domain_refused')).toHaveLength(1);
  });

  it('refuses a Google account of another Workspace domain (hd)', async () => {
    idp.setAccount('erin', { sub: 'sub-erin', email: 'erin@example.com', groups: ['soc'], hd: 'other.example' });
    const refused = await ssoLogin(providers.google, 'erin');
    expect(refused.error).toBe('hosted_domain_refused');
    expect(await failures('hosted_domain_refused')).toHaveLength(1);
    idp.setAccount('erin', { sub: 'sub-erin', email: 'erin@example.com', groups: ['soc'], hd: 'example.com' });
    expect((await ssoLogin(providers.google, 'erin')).error).toBeNull();
  });

  it('refuses an Entra account of another tenant (tid)', async () => {
    idp.setAccount('finn', { sub: 'sub-finn', email: 'finn@example.com', groups: ['soc'], tid: 'tenant-b' });
    expect((await ssoLogin(providers.entra, 'finn')).error).toBe('tenant_refused');
    expect(await failures('tenant_refused')).toHaveLength(1);
    idp.setAccount('finn', { sub: 'sub-finn', email: 'finn@example.com', groups: ['soc'], tid: 'tenant-a' });
    expect((await ssoLogin(providers.entra, 'finn')).error).toBeNull();
  });

  it('refuses a callback used twice, and one without the browser-binding cookie', async () => {
    idp.setAccount('hana', { sub: 'sub-hana', email: 'hana@example.com', groups: ['soc'] });
    const first = await ssoLogin(providers.generic, 'hana');
    expect(first.error).toBeNull();
    const replay = await callback(first.callbackUrl, first.binding);
    expect(replay).toMatchObject({ error: 'state_mismatch', accessToken: null });

    const browser = new IdpBrowser(idp);
    const start = await fetch(`${api.baseUrl}/api/v1/auth/sso/${providers.generic}/login`, { redirect: 'manual' });
    await start.body?.cancel();
    const { callbackUrl } = await browser.signIn(start.headers.get('location')!, 'hana');
    const unbound = await callback(callbackUrl, null);
    expect(unbound).toMatchObject({ error: 'state_mismatch', accessToken: null });
    // Another browser's binding cookie is no better.
    const other = await ssoLogin(providers.generic, 'hana');
    const start2 = await fetch(`${api.baseUrl}/api/v1/auth/sso/${providers.generic}/login`, { redirect: 'manual' });
    await start2.body?.cancel();
    const second = await new IdpBrowser(idp).signIn(start2.headers.get('location')!, 'hana');
    expect((await callback(second.callbackUrl, other.binding)).error).toBe('state_mismatch');
    expect((await failures('state_mismatch')).length).toBeGreaterThanOrEqual(3);
  });

  it('reports a cancelled sign-in and an unreachable provider as idp_error', async () => {
    const start = await fetch(`${api.baseUrl}/api/v1/auth/sso/${providers.generic}/login`, { redirect: 'manual' });
    await start.body?.cancel();
    const { callbackUrl } = await new IdpBrowser(idp).signIn(start.headers.get('location')!, '', { cancel: true });
    expect(new URL(callbackUrl).searchParams.get('error')).toBe('access_denied');
    expect((await callback(callbackUrl, cookie(start, 'xs_sso_binding'))).error).toBe('idp_error');
    const cancelled = await failures('idp_error');
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0].details.detail).toContain('access_denied');

    const gone = await TestOidcProvider.start();
    await gone.stop();
    const created = await api.request('POST', 'identity-providers', {
      token: adminToken,
      body: {
        protocol: 'oidc',
        name: 'Gone',
        allowedEmailDomains: ['example.com'],
        roleRules: [{ group: 'soc', role: 'soc_operator' }],
        oidc: { issuer: gone.issuer, clientId: 'c' },
        clientSecret: null,
      },
    });
    expect(created.status, created.text).toBe(201);
    const unreachable = await fetch(`${api.baseUrl}/api/v1/auth/sso/${created.body.id}/login`, { redirect: 'manual' });
    await unreachable.body?.cancel();
    expect(unreachable.headers.get('location')).toBe(`${api.baseUrl}/sign-in?sso_error=idp_error`);
    expect(await failures('idp_error')).toHaveLength(2);
    expect((await api.request('DELETE', `identity-providers/${created.body.id}`, { token: adminToken })).status).toBeLessThan(300);
  });

  it('steps up at the provider (prompt=login, max_age=0) before a critical action', async () => {
    idp.setAccount('ivy', { sub: 'sub-ivy', email: 'ivy@example.com', groups: ['xs-admins'], amr: ['pwd'] });
    const browser = new IdpBrowser(idp);
    const login = await ssoLogin(providers.generic, 'ivy', browser);
    const token = login.accessToken!;
    // A critical route (the fleet-wide 2FA policy, set to what it is).
    const critical = () => api.request('PUT', 'settings/security', { token, body: { requireTotp: false } });
    const before = await critical();
    expect(before.status).toBe(403);
    expect(before.body.code).toBe('AUTH_STEP_UP_REQUIRED');
    expect(before.body.detail).toContain('auth/sso/step-up');

    // Password only: refused for lack of MFA evidence, and the action stays refused.
    const weak = await ssoStepUp(token, 'ivy', browser);
    expect(weak.redirectUrl.searchParams.get('prompt')).toBe('login');
    expect(weak.redirectUrl.searchParams.get('max_age')).toBe('0');
    expect(weak.prompted).toBe(true);
    expect(weak.location).toBe(`${api.baseUrl}/admin/users?sso_error=mfa_missing`);
    expect(await failures('mfa_missing', 'auth.sso_step_up')).toHaveLength(1);
    expect((await critical()).body.code).toBe('AUTH_STEP_UP_REQUIRED');

    // With a second factor: the provider asks again (its session alone would not do), then the action works.
    idp.setAccount('ivy', { sub: 'sub-ivy', email: 'ivy@example.com', groups: ['xs-admins'], amr: ['pwd', 'otp'] });
    const strong = await ssoStepUp(token, 'ivy', browser);
    expect(strong.prompted).toBe(true);
    expect(strong.location).toBe(`${api.baseUrl}/admin/users`);
    expect((await api.auditRows(`action = 'auth.sso_step_up' AND result = 'success'`)).length).toBe(1);
    const after = await critical();
    expect(after.status, after.text).toBe(200);
    expect((await me(token)).body.stepUpValidUntil).not.toBeNull();
  });

  it('refuses a step-up as another user, and one where the provider did not ask again', async () => {
    idp.setAccount('jack', { sub: 'sub-jack', email: 'jack@example.com', groups: ['xs-admins'] });
    idp.setAccount('kate', { sub: 'sub-kate', email: 'kate@example.com', groups: ['xs-admins'], amr: ['mfa'] });
    const browser = new IdpBrowser(idp);
    const token = (await ssoLogin(providers.generic, 'jack', browser)).accessToken!;
    const other = await ssoStepUp(token, 'kate', browser);
    expect(other.error).toBe('subject_mismatch');
    expect(await failures('subject_mismatch', 'auth.sso_step_up')).toHaveLength(1);
    // A provider that reports the earlier authentication instead of a new one.
    idp.setAccount('jack', {
      sub: 'sub-jack',
      email: 'jack@example.com',
      groups: ['xs-admins'],
      amr: ['mfa'],
      authTimeOffsetSeconds: -900,
    });
    expect((await ssoStepUp(token, 'jack', browser)).error).toBe('reauth_missing');
  });

  it('ends the SSO session at once when the user is disabled locally, and refuses their next SSO login', async () => {
    idp.setAccount('liam', { sub: 'sub-liam', email: 'liam@example.com', groups: ['soc'] });
    const token = (await ssoLogin(providers.generic, 'liam')).accessToken!;
    expect((await me(token)).status).toBe(200);
    const id = (await userByEmail('liam@example.com')).id;
    const disable = await api.request('PATCH', `users/${id}`, { token: adminToken, body: { status: 'disabled' } });
    expect(disable.status, disable.text).toBe(200);
    expect((await me(token)).status).toBe(401);
    expect((await ssoLogin(providers.generic, 'liam')).error).toBe('user_disabled');
  });

  it('makes SSO mandatory except for break-glass accounts, whose password and TOTP still work', async () => {
    const local = await api.createUser(adminToken, 'soc_operator');
    const policy = await api.request('PUT', 'sso/policy', { token: adminToken, body: { ssoRequired: true, breakGlassUserIds: [adminId] } });
    expect(policy.status, policy.text).toBe(200);
    const refused = await api.login(local.email, TEST_PASSWORD);
    expect(refused.status).toBe(403);
    expect(refused.body.code ?? refused.text).toContain('AUTH_SSO_REQUIRED');
    expect((await api.request('GET', 'auth/sso/providers')).body.ssoRequired).toBe(true);

    const first = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(first.status, first.text).toBe(200);
    expect(first.body.mfaToken).toBeTruthy();
    const verified = await api.request('POST', 'auth/totp/verify', {
      body: { mfaToken: first.body.mfaToken, code: await totpCode(adminTotp, 1) },
    });
    expect(verified.status, verified.text).toBe(200);
    expect((await me(verified.body.accessToken)).body).toMatchObject({ id: adminId, authMethod: 'password' });
    // SSO users still sign in.
    idp.setAccount('mia', { sub: 'sub-mia', email: 'mia@example.com', groups: ['soc'] });
    expect((await ssoLogin(providers.generic, 'mia')).error).toBeNull();

    // An SSO Super Admin (a login with MFA counts as step-up) cannot disable or demote the last break-glass Super Admin.
    idp.setAccount('nora', { sub: 'sub-nora', email: 'nora@example.com', groups: ['xs-admins'], amr: ['pwd', 'mfa'] });
    const nora = (await ssoLogin(providers.generic, 'nora')).accessToken!;
    expect((await me(nora)).body).toMatchObject({ role: 'super_admin', authMethod: 'sso' });
    expect((await me(nora)).body.stepUpValidUntil).not.toBeNull();
    for (const change of [{ status: 'disabled' }, { role: 'soc_operator' }]) {
      const lastOne = await api.request('PATCH', `users/${adminId}`, { token: nora, body: change });
      expect(lastOne.status, lastOne.text).toBe(422);
      expect(lastOne.body.code).toBe('SSO_POLICY_INVALID');
      expect(lastOne.body.detail).toMatch(/last break-glass Super Admin/);
    }
    // Nor can it turn off its own second factor.
    const ownTotp = await api.request('POST', 'auth/totp/disable', {
      token: verified.body.accessToken,
      body: { code: await totpCode(adminTotp, 0), password: ADMIN_PASSWORD },
    });
    expect(ownTotp.status, ownTotp.text).toBe(422);
    expect(ownTotp.body.code).toBe('SSO_POLICY_INVALID');
    expect((await me(verified.body.accessToken)).body).toMatchObject({ totpEnabled: true });
  });
});
