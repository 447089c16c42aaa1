import { SSO_FAILURE_MESSAGES } from '@xspectre/contracts';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD } from '../../api/test/support/harness.js';
import { TestOidcProvider } from '../../api/test/support/oidc-provider.js';
import { AUTHN_CONTEXT_MFA, SamlIdp } from '../../api/test/support/saml-idp.js';
import { eventually } from './support/e2e.js';
import { useSsoE2e } from './support/sso-e2e.js';

/**
 * Single sign-on in the browser (issue 18): an admin configures an OpenID Connect and a SAML
 * provider on the identity-providers page; operators sign in through the real local providers'
 * login forms (oidc-provider 9: api/test/support/oidc-provider.ts; the xml-crypto-signing IdP:
 * api/test/support/saml-idp.ts) and land with the role their groups map to; an unknown group
 * comes back to the sign-in page with the reason; an SSO session's critical action steps up at
 * the IdP. The tests build on each other, in order.
 */
/** A Super Admin by her group who signs in at the IdP with a password alone (no MFA evidence). */
const OLGA = { sub: 'oidc-olga', email: 'olga@acme.test', name: 'Olga Admin', groups: ['xs-admins'], amr: ['pwd'] };

describe('console: single sign-on', () => {
  const e = useSsoE2e();
  let oidc: TestOidcProvider;
  let saml: SamlIdp;
  let admin: Page;
  let oidcProviderId = '';

  beforeAll(async () => {
    [oidc, saml] = await Promise.all([TestOidcProvider.start(), SamlIdp.create()]);
    await saml.listen();
    oidc.setAccount('ana', { sub: 'oidc-ana', email: 'ana@acme.test', name: 'Ana SOC', groups: ['xs-soc', 'staff'], amr: ['pwd', 'mfa'] });
    oidc.setAccount('olga', OLGA);
    oidc.setAccount('eve', { sub: 'oidc-eve', email: 'eve@acme.test', name: 'Eve Marketing', groups: ['marketing'], amr: ['pwd', 'mfa'] });
    oidc.setAccount('lee', { sub: 'oidc-lee', email: 'lee@acme.test', name: 'Lee Local', groups: ['xs-soc'], amr: ['pwd', 'mfa'] });
    saml.users.set('sam', { nameId: 'saml-sam', email: 'sam@acme.test', displayName: 'Sam Reader', groups: ['xs-read'] });
    saml.users.set('mallory', { nameId: 'saml-mallory', email: 'mallory@acme.test', displayName: 'Mallory', groups: ['guests'] });
  }, 60_000);
  afterAll(async () => {
    await oidc?.stop();
    await saml?.stop();
  });

  /** Clicks `trigger`; when the step-up dialog asks (the sign-in's window may have passed), answers it with a TOTP code. */
  async function criticalAsAdmin(trigger: Locator, done: Locator): Promise<void> {
    await trigger.click();
    const dialog = admin.getByRole('dialog', { name: 'Confirm a critical action' });
    await dialog.or(done).first().waitFor();
    if (await dialog.isVisible()) {
      await dialog.getByLabel('Authentication code').fill(await e.adminCode());
      await admin.getByRole('button', { name: 'Verify and continue' }).click();
    }
    await done.waitFor();
  }

  /** The sign-in page's SSO link for `label`, then the IdP's own login form as `username`. */
  async function signInAtIdp(p: Page, label: string, username: string): Promise<void> {
    await p.getByRole('link', { name: label }).click();
    await p.getByLabel('Username').fill(username);
    await p.getByRole('button', { name: 'Sign in' }).click();
  }

  it('adds an OpenID Connect provider: discovery, write-only secret, the values to register, rules and their preview', async () => {
    ({ page: admin } = await e.newPage());
    await admin.goto(`${e.web.url}/admin/identity-providers`);
    await admin.waitForURL(/\/sign-in/);
    // No provider yet: the sign-in page offers the password only.
    expect(await admin.getByTestId('sso-buttons').count()).toBe(0);
    await e.signInAdmin(admin);
    await admin.waitForURL(`${e.web.url}/admin/identity-providers`);
    await admin.getByText('No identity provider').waitFor();

    await admin.getByRole('button', { name: 'Add OpenID Connect' }).click();
    const editor = admin.getByTestId('provider-editor');
    await editor.getByLabel('Name', { exact: true }).fill('Acme OIDC');
    await editor.getByLabel('Allowed e-mail domains').fill('acme.test');
    await editor.getByLabel('Issuer URL').fill(oidc.issuer);
    await editor.getByRole('button', { name: 'Discover' }).click();
    await eventually(() => editor.getByTestId('oidc-discovery').innerText()).toContain(`${oidc.issuer}/auth`);
    await editor.getByLabel('Client id').fill(oidc.clientId);
    await editor.getByTestId('client-secret').fill(oidc.clientSecret);
    // Rules in the order typed, then reordered: the first match wins.
    for (const [group, role] of [
      ['xs-soc', 'soc_operator'],
      ['xs-admins', 'super_admin'],
    ] as const) {
      await editor.getByLabel('Group', { exact: true }).fill(group);
      await editor.getByLabel('Gets the role').selectOption(role);
      await editor.getByRole('button', { name: 'Add rule' }).click();
    }
    await editor.getByRole('button', { name: 'Move xs-admins up' }).click();
    expect(await editor.getByTestId('role-rule').locator('code').allInnerTexts()).toEqual(['xs-admins', 'xs-soc']);
    await criticalAsAdmin(editor.getByRole('button', { name: 'Add provider' }), admin.getByTestId('providers-notice'));

    const row = admin.getByTestId('providers').locator('tbody tr');
    await eventually(() => row.innerText()).toMatch(/Acme OIDC\s+OpenID Connect\s+Generic\s+enabled\s+acme\.test\s+2/);
    oidcProviderId = (await row.getAttribute('data-provider-id')) ?? '';
    const redirectUri = `${e.web.url}/api/v1/auth/sso/oidc/${oidcProviderId}/callback`;
    expect(await admin.getByTestId('sp-values').getByLabel('Redirect URI').innerText()).toBe(redirectUri);
    // Registered at the provider as an operator would, with the value the page shows.
    oidc.redirectUris = [redirectUri];

    // The secret is write-only: the API says only that one is set.
    const stored = await e.api.request('GET', `identity-providers/${oidcProviderId}`, { token: e.admin });
    expect(stored.body.hasClientSecret).toBe(true);
    expect(stored.text).not.toContain(oidc.clientSecret);
    await admin.getByRole('button', { name: 'Edit Acme OIDC' }).click();
    await admin.getByText('Client secret (set; leave empty to keep)').waitFor();
    expect(await admin.getByTestId('client-secret').inputValue()).toBe('');
    await admin.getByTestId('provider-editor').getByRole('button', { name: 'Cancel' }).click();

    await admin.getByRole('button', { name: 'Test connection' }).click();
    await eventually(() => admin.getByTestId('connection-test').innerText()).toContain('The provider answers as configured');

    const preview = admin.getByTestId('role-preview');
    await preview.getByLabel("Preview: a user's groups").fill('staff\nxs-soc\nxs-admins');
    await preview.getByRole('button', { name: 'Preview role' }).click();
    await eventually(() => preview.getByTestId('role-preview-result').innerText()).toMatch(/Super Admin\s+by rule 1/);
    await preview.getByLabel("Preview: a user's groups").fill('marketing');
    await preview.getByRole('button', { name: 'Preview role' }).click();
    await eventually(() => preview.getByTestId('role-preview-result').innerText()).toBe('no access');
    // A full-page shot of a scrolled page would paint the sticky top bar mid-page.
    await admin.evaluate('window.scrollTo(0, 0)');
    await e.shot('identity-providers', admin);
  });

  it('signs in with OpenID Connect: the IdP’s form, a just-in-time user with the mapped role', async () => {
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/devices`);
    await p.waitForURL(/\/sign-in\?next=%2Fdevices/);
    await signInAtIdp(p, 'Sign in with Acme OIDC', 'ana');
    await p.waitForURL(`${e.web.url}/devices`);
    await eventually(() => p.getByTestId('role').innerText()).toBe('ana@acme.test · SOC Operator');
    expect(oidc.prompts).toEqual(['ana']);
    const [login] = await e.api.auditRows(`action = 'auth.sso_login' AND result = 'success' AND user_email = 'ana@acme.test'`);
    expect(login.details).toMatchObject({ providerId: oidcProviderId, role: 'soc_operator', jit: true });
    expect(await e.api.auditRows(`action = 'auth.sso_user_created' AND user_email = 'ana@acme.test'`)).toHaveLength(1);
    // No password or TOTP of ours to manage: the account page says where they live.
    await p.goto(`${e.web.url}/account/security`);
    await eventually(() => p.getByTestId('sso-account').innerText()).toContain('managed by your identity provider');
    expect(await p.getByRole('button', { name: 'Change password' }).count()).toBe(0);
    await context.close();
  });

  it('sends a user whose groups map to no role back to the sign-in page with the reason', async () => {
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/sign-in`);
    await signInAtIdp(p, 'Sign in with Acme OIDC', 'eve');
    await p.waitForURL(/\/sign-in\?sso_error=unknown_group/);
    expect(await p.getByTestId('sso-error').innerText()).toBe(SSO_FAILURE_MESSAGES.unknown_group);
    // Not Read-Only: no account at all, and the refusal audited with its reason.
    expect((await e.api.sql.query(`SELECT 1 FROM users WHERE email = 'eve@acme.test'`)).rowCount).toBe(0);
    const [refusal] = await e.api.auditRows(`action = 'auth.sso_login' AND result = 'failure' AND details->>'reason' = 'unknown_group'`);
    expect(refusal).toBeDefined();
    // A reason the page does not know is shown as a generic message, never as the raw value.
    await p.goto(`${e.web.url}/sign-in?sso_error=%3Cb%3Ebogus%3C%2Fb%3E`);
    await eventually(() => p.getByTestId('sso-error').innerText()).toBe(
      'Single sign-on did not complete. Try again or ask an administrator.',
    );
    await context.close();
  });

  it('adds a SAML provider from the IdP’s metadata (pasted, then by URL) and signs in through the IdP’s form', async () => {
    await admin.getByRole('button', { name: 'Add SAML 2.0' }).click();
    const editor = admin.getByTestId('provider-editor');
    await editor.getByLabel('Name', { exact: true }).fill('Acme SAML');
    await editor.getByLabel('Allowed e-mail domains').fill('acme.test');
    // The metadata file as an administrator would paste it.
    await editor.getByLabel('…or the metadata XML').fill(await (await fetch(saml.metadataUrl)).text());
    await editor.getByRole('button', { name: 'Import XML' }).click();
    await editor.getByTestId('metadata-imported').waitFor();
    expect(await editor.getByLabel('IdP entity id').inputValue()).toBe(saml.entityId);
    expect(await editor.getByLabel('Metadata URL').inputValue()).toBe('');
    await editor.getByLabel('Metadata URL').fill(saml.metadataUrl);
    await editor.getByRole('button', { name: 'Import from URL' }).click();
    await editor.getByTestId('metadata-imported').waitFor();
    expect(await editor.getByLabel('IdP entity id').inputValue()).toBe(saml.entityId);
    expect(await editor.getByLabel('Single sign-on URL').inputValue()).toBe(saml.ssoUrl);
    expect(await editor.getByLabel('Signing certificates').inputValue()).toContain('BEGIN CERTIFICATE');
    // Entra ID's preset names its claim URIs; this IdP sends short attribute names, as a customised Entra app can.
    await editor.getByLabel('Preset').selectOption('entra');
    expect(await editor.getByLabel('MFA AuthnContextClassRef values').inputValue()).toBe(AUTHN_CONTEXT_MFA);
    await editor.getByLabel('Groups attribute').fill('groups');
    await editor.getByLabel('E-mail attribute').fill('email');
    await editor.getByLabel('Display name attribute').fill('displayName');
    await editor.getByLabel('Group', { exact: true }).fill('xs-read');
    await editor.getByRole('button', { name: 'Add rule' }).click();
    await criticalAsAdmin(
      editor.getByRole('button', { name: 'Add provider' }),
      admin.getByText('“Acme SAML” was added.', { exact: false }),
    );
    const spValues = admin.getByTestId('sp-values');
    const samlId = (await admin.getByTestId('providers').locator('tr', { hasText: 'Acme SAML' }).getAttribute('data-provider-id')) ?? '';
    expect(await spValues.getByLabel('Assertion Consumer Service URL (HTTP-POST)').innerText()).toBe(
      `${e.web.url}/api/v1/auth/sso/saml/${samlId}/acs`,
    );
    expect(await spValues.getByLabel('Entity id (audience)').innerText()).toBe(`${e.web.url}/api/v1/auth/sso/saml/${samlId}/metadata`);
    await admin.evaluate('window.scrollTo(0, 0)');
    await e.shot('identity-providers-saml', admin);

    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/sign-in`);
    await p.getByRole('link', { name: 'Sign in with Microsoft' }).waitFor();
    expect(await p.getByTestId('sso-buttons').getByRole('link').allInnerTexts()).toEqual([
      expect.stringContaining('Sign in with Acme OIDC'),
      expect.stringContaining('Sign in with Microsoft'),
    ]);
    await e.shot('sign-in-sso', p);
    await signInAtIdp(p, 'Sign in with Microsoft', 'sam');
    await p.waitForURL(`${e.web.url}/`);
    await eventually(() => p.getByTestId('role').innerText()).toBe('sam@acme.test · Read-Only');
    expect(saml.requests.at(-1)?.forceAuthn).toBe(false);

    // The same IdP, a user of no mapped group: back to the sign-in page with the reason.
    await context.clearCookies();
    await p.goto(`${e.web.url}/sign-in`);
    await signInAtIdp(p, 'Sign in with Microsoft', 'mallory');
    await p.waitForURL(/\/sign-in\?sso_error=unknown_group/);
    expect(await p.getByTestId('sso-error').innerText()).toBe(SSO_FAILURE_MESSAGES.unknown_group);
    await context.close();
  });

  it('refuses a step-up without MFA evidence and says why on the page it started from', async () => {
    // Olga signs in with a password only at the IdP: the login is no step-up, and neither is the re-authentication.
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/admin/identity-providers`);
    await signInAtIdp(p, 'Sign in with Acme OIDC', 'olga');
    await p.waitForURL(`${e.web.url}/admin/identity-providers`);
    await p.getByRole('button', { name: 'Disable Acme SAML' }).click();
    const dialog = p.getByRole('dialog', { name: 'Confirm a critical action' });
    await dialog.getByRole('button', { name: 'Sign in again' }).click();
    await p.getByLabel('Username').fill('olga');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(/\/admin\/identity-providers/);
    const result = p.getByTestId('sso-step-up-result');
    await eventually(() => result.innerText()).toContain(SSO_FAILURE_MESSAGES.mfa_missing);
    expect(await result.getAttribute('role')).toBe('alert');
    // The reason is read once: the address bar no longer carries it.
    await eventually(() => new URL(p.url()).search).toBe('');
    const [refusal] = await e.api.auditRows(`action = 'auth.sso_step_up' AND result = 'failure' AND details->>'reason' = 'mfa_missing'`);
    expect(refusal).toBeDefined();
    // Still not stepped up: the critical action asks again.
    await p.getByRole('button', { name: 'Dismiss' }).click();
    await p.getByRole('button', { name: 'Disable Acme SAML' }).click();
    await dialog.getByTestId('sso-step-up').waitFor();
    expect(await p.getByTestId('providers').locator('tr', { hasText: 'Acme SAML' }).innerText()).toContain('enabled');
    await context.close();
  });

  it('steps an SSO session up at its identity provider (prompt=login) before a critical action', async () => {
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/admin/identity-providers`);
    await signInAtIdp(p, 'Sign in with Acme OIDC', 'olga');
    await p.waitForURL(`${e.web.url}/admin/identity-providers`);
    await eventually(() => p.getByTestId('role').innerText()).toBe('olga@acme.test · Super Admin');

    await p.getByRole('button', { name: 'Disable Acme SAML' }).click();
    const dialog = p.getByRole('dialog', { name: 'Confirm a critical action' });
    await dialog.getByTestId('sso-step-up').waitFor();
    // No TOTP code for an SSO session: the identity provider asks again.
    expect(await dialog.getByLabel('Authentication code').count()).toBe(0);
    // This time the IdP asks for a second factor (a login without one was no step-up).
    oidc.setAccount('olga', { ...OLGA, amr: ['pwd', 'mfa'] });
    const prompted = oidc.prompts.length;
    await dialog.getByRole('button', { name: 'Sign in again' }).click();
    await p.getByLabel('Username').fill('olga');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(`${e.web.url}/admin/identity-providers`);
    await p.getByText('Signed in again at your identity provider').waitFor();
    expect(oidc.prompts.slice(prompted)).toEqual(['olga']);
    const reauth = oidc.authorizationRequests.at(-1)!;
    expect(reauth.get('prompt')).toBe('login');
    expect(reauth.get('max_age')).toBe('0');
    const [stepUp] = await e.api.auditRows(`action = 'auth.sso_step_up' AND result = 'success' AND user_email = 'olga@acme.test'`);
    expect(stepUp.details).toMatchObject({ providerId: oidcProviderId });

    // Within the window the action goes through without another trip.
    const samlRow = p.getByTestId('providers').locator('tr', { hasText: 'Acme SAML' });
    await p.getByRole('button', { name: 'Disable Acme SAML' }).click();
    await eventually(() => samlRow.innerText()).toContain('disabled');
    expect(await dialog.isVisible()).toBe(false);
    await p.getByRole('button', { name: 'Enable Acme SAML' }).click();
    await eventually(() => samlRow.innerText()).toContain('enabled');
    await context.close();
  });

  it('shows how each operator signs in, links an SSO identity to a local account, and folds the password form when SSO is required', async () => {
    // A local account with the same e-mail is not taken over by an SSO login…
    const lee = await e.api.createUser(e.admin, 'soc_operator', 'lee@acme.test');
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/sign-in`);
    await signInAtIdp(p, 'Sign in with Acme OIDC', 'lee');
    await p.waitForURL(/\/sign-in\?sso_error=email_taken/);
    expect(await p.getByTestId('sso-error').innerText()).toBe(SSO_FAILURE_MESSAGES.email_taken);

    // …until an admin links the IdP's subject to it (the IdP's session is forgotten: it asks again).
    await context.clearCookies();
    await admin.goto(`${e.web.url}/admin/users`);
    const leeRow = admin.locator('tr', { hasText: 'lee@acme.test' });
    await eventually(() => leeRow.getByTestId('user-sign-in').innerText()).toBe('Password');
    await admin.getByRole('button', { name: 'Link an SSO identity to lee@acme.test' }).click();
    const link = admin.getByRole('dialog', { name: 'Link an SSO identity to lee@acme.test' });
    await link.getByLabel('Identity provider').selectOption({ label: 'Acme OIDC' });
    await link.getByLabel('Subject').fill('oidc-lee');
    await criticalAsAdmin(link.getByRole('button', { name: 'Link identity' }), leeRow.getByText('SSO: Acme OIDC'));
    await signInAtIdp(p, 'Sign in with Acme OIDC', 'lee');
    await p.waitForURL(`${e.web.url}/`);
    await eventually(() => p.getByTestId('role').innerText()).toBe('lee@acme.test · SOC Operator');
    await context.close();

    // SSO required, the bootstrap admin the one break-glass account.
    await admin.goto(`${e.web.url}/admin/identity-providers`);
    const policy = admin.getByTestId('sso-policy');
    await policy.getByLabel(/Require single sign-on/).check();
    await policy.getByRole('checkbox', { name: /admin@test\.local/ }).check();
    await criticalAsAdmin(admin.getByRole('button', { name: 'Save policy' }), admin.getByText('Policy saved.'));
    const saved = await e.api.request('GET', 'sso/policy', { token: e.admin });
    expect(saved.body).toMatchObject({ ssoRequired: true, breakGlassUserIds: [expect.any(String)] });

    await admin.goto(`${e.web.url}/admin/users`);
    const rowOf = (email: string) => admin.locator('tr', { hasText: email }).getByTestId('user-sign-in');
    await eventually(() => rowOf('admin@test.local').innerText()).toMatch(/Password\s+Break-glass/);
    // The providers' names arrive with their own list.
    await eventually(() => rowOf('ana@acme.test').innerText()).toMatch(/^SSO: Acme OIDC\s*×$/);
    expect(await rowOf('sam@acme.test').innerText()).toMatch(/^SSO: Acme SAML\s*×$/);
    expect(await rowOf('lee@acme.test').innerText()).toMatch(/Password\s+SSO: Acme OIDC/);
    await e.shot('users-sign-in', admin);

    // The sign-in page: SSO first, the password form folded under "Break-glass sign-in".
    const { context: c2, page: q } = await e.newPage();
    await q.goto(`${e.web.url}/sign-in`);
    await q.getByText('Break-glass sign-in').waitFor();
    expect(await q.getByLabel('Password').isVisible()).toBe(false);
    await e.shot('sign-in-sso-required', q);
    // A local password that is not break-glass is refused now; the break-glass admin still signs in.
    const refused = await e.api.login(lee.email, TEST_PASSWORD);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('AUTH_SSO_REQUIRED');
    await e.signInAdmin(q);
    await eventually(() => q.getByTestId('role').innerText()).toBe('admin@test.local · Super Admin');
    await c2.close();
  });
});
