import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSO_FAILURE_MESSAGES, type SsoFailureReason } from '@xspectre/contracts';
import { SamlProtocol } from '../src/sso/saml/saml-protocol.js';
import { SsoFailure } from '../src/sso/sso-assertion.js';
import { freePort } from './support/built-process.js';
import { TestApi } from './support/harness.js';
import {
  AUTHN_CONTEXT_PASSWORD,
  encodeSamlResponse,
  readAutoPostForm,
  SamlIdp,
  tamperAttributeValue,
  type SamlAuthnRequest,
  type SamlIdpUser,
  type SamlResponseOptions,
  type XswVariant,
} from './support/saml-idp.js';
import { stepUp } from './support/step-up.js';

/**
 * SAML 2.0 sign-in end to end: the real API (API_CONSOLE_URL = its own address, so every
 * redirect is plain HTTP to it) and a local IdP (test/support/saml-idp.ts) that signs real
 * Responses. The provider is created through the admin route POST /identity-providers.
 * Each refused answer must land on /sign-in?sso_error=<reason>, set no session, and leave an
 * audit row auth.sso_login with that reason.
 */

const alice: SamlIdpUser = {
  nameId: 'alice-0001',
  email: 'alice@example.com',
  displayName: 'Alice Admin',
  groups: ['xs-admins', 'everyone'],
};
const rita: SamlIdpUser = { nameId: 'rita-0002', email: 'rita@example.com', displayName: 'Rita Reader', groups: ['everyone'] };

let api: TestApi;
let idp: SamlIdp;
let consoleUrl: string;
let admin: string;
let providerId: string;

/** What the operator saw for each refused case (for the closing note of issue 18). */
const seen: { case: string; reason: string; location: string; message: string }[] = [];

beforeAll(async () => {
  const port = await freePort();
  consoleUrl = `http://127.0.0.1:${port}`;
  api = await TestApi.start({ API_CONSOLE_URL: consoleUrl }, { port });
  idp = await SamlIdp.create();
  await idp.listen();
  idp.users.set('alice', alice);
  idp.users.set('rita', rita);
  admin = await api.adminToken();
  await stepUp(api, admin);
  const created = await api.request('POST', 'identity-providers', {
    token: admin,
    body: {
      protocol: 'saml',
      name: 'Test IdP',
      allowedEmailDomains: ['example.com'],
      roleRules: [
        { group: 'xs-admins', role: 'super_admin' },
        { group: 'everyone', role: 'read_only' },
      ],
      saml: idp.samlSettings(),
    },
  });
  expect(created.status, created.text).toBe(201);
  providerId = created.body.id;
});

afterAll(async () => {
  await idp?.stop();
  await api?.stop();
  if (seen.length > 0 && process.env.SSO_SAML_CASES_OUT) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(process.env.SSO_SAML_CASES_OUT, JSON.stringify(seen, null, 2));
  }
});

async function startLogin(id = providerId, returnTo = '/fleet'): Promise<SamlAuthnRequest> {
  const r = await api.request('GET', `auth/sso/${id}/login?returnTo=${encodeURIComponent(returnTo)}`);
  expect(r.status, r.text).toBe(302);
  const location = r.headers.get('location')!;
  expect(location.startsWith(`${idp.ssoUrl}?`)).toBe(true);
  return idp.parseAuthnRequest(location);
}

async function postAcs(samlResponse: string, relayState: string, id = providerId): Promise<Response> {
  return fetch(`${api.baseUrl}/api/v1/auth/sso/saml/${id}/acs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: relayState }).toString(),
    redirect: 'manual',
  });
}

function cookieJar(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

async function me(jar: string) {
  return api.request('GET', 'auth/me', { headers: { cookie: jar } });
}

async function latestLoginAudit(result: 'success' | 'failure') {
  const r = await api.request('GET', `audit?action=auth.sso_login&result=${result}&limit=1`, { token: admin });
  expect(r.status, r.text).toBe(200);
  return r.body.items[0];
}

/** A whole sign-in answered by `options`; returns the ACS reply. */
async function answer(user: SamlIdpUser, options: SamlResponseOptions = {}) {
  const request = await startLogin();
  const xml = await idp.buildResponse(request, user, options);
  return { request, reply: await postAcs(encodeSamlResponse(xml), request.relayState!) };
}

async function expectRefused(name: string, reply: Response, reason: SsoFailureReason) {
  expect(reply.status).toBe(303);
  const location = reply.headers.get('location');
  expect(location).toBe(`${consoleUrl}/sign-in?sso_error=${reason}`);
  expect(reply.headers.getSetCookie().some((c) => c.startsWith('xs_access='))).toBe(false);
  const row = await latestLoginAudit('failure');
  expect(row.details.reason).toBe(reason);
  expect(row.resourceId).toBe(providerId);
  seen.push({ case: name, reason, location: location!, message: SSO_FAILURE_MESSAGES[reason] });
}

describe('SAML sign-in', () => {
  it('signs in through the IdP login form: JIT user with the mapped role, an SSO session', async () => {
    const start = await api.request('GET', `auth/sso/${providerId}/login?returnTo=${encodeURIComponent('/fleet')}`);
    expect(start.status).toBe(302);
    const request = idp.parseAuthnRequest(start.headers.get('location')!);
    expect(request).toMatchObject({
      issuer: `${consoleUrl}/api/v1/auth/sso/saml/${providerId}/metadata`,
      acsUrl: `${consoleUrl}/api/v1/auth/sso/saml/${providerId}/acs`,
      forceAuthn: false,
      signed: false,
    });

    // The browser: the IdP's form, the user name typed, the auto-posted answer.
    const form = await fetch(start.headers.get('location')!);
    expect(form.status).toBe(200);
    const pending = /name="pending" value="([^"]+)"/.exec(await form.text())![1]!;
    const login = await fetch(`${idp.ssoUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ pending, username: 'alice' }).toString(),
    });
    const post = readAutoPostForm(await login.text());
    expect(post.action).toBe(request.acsUrl);
    const acs = await postAcs(post.SAMLResponse, post.RelayState!);
    expect(acs.status).toBe(303);
    expect(acs.headers.get('location')).toBe(`${consoleUrl}/fleet`);

    const session = await me(cookieJar(acs));
    expect(session.status, session.text).toBe(200);
    expect(session.body).toMatchObject({
      email: 'alice@example.com',
      displayName: 'Alice Admin',
      role: 'super_admin',
      authMethod: 'sso',
      ssoProviderId: providerId,
    });
    const row = await latestLoginAudit('success');
    expect(row.details).toMatchObject({ providerId, role: 'super_admin', jit: true, mfa: true });
    const identities = await api.sql.query('SELECT subject FROM user_identities WHERE provider_id = $1', [providerId]);
    expect(identities.rows.map((r) => r.subject)).toContain('alice-0001');
  });

  it('maps the role from the groups: a reader gets read_only and no MFA with a password context', async () => {
    const { reply } = await answer(rita, { authnContextClassRef: AUTHN_CONTEXT_PASSWORD });
    expect(reply.status).toBe(303);
    expect(reply.headers.get('location')).toBe(`${consoleUrl}/fleet`);
    expect((await me(cookieJar(reply))).body).toMatchObject({ role: 'read_only', authMethod: 'sso' });
    expect((await latestLoginAudit('success')).details).toMatchObject({ role: 'read_only', mfa: false });
  });

  it('serves SP metadata with the ACS, WantAssertionsSigned and the SP certificate; signs requests and takes encrypted assertions', async () => {
    const plain = await (await fetch(`${api.baseUrl}/api/v1/auth/sso/saml/${providerId}/metadata`)).text();
    expect(plain).toMatch(/WantAssertionsSigned="true"/);
    expect(plain).not.toContain('KeyDescriptor');
    const patched = await api.request('PATCH', `identity-providers/${providerId}`, {
      token: admin,
      body: { saml: idp.samlSettings({ signAuthnRequests: true, encryptAssertions: true }) },
    });
    expect(patched.status, patched.text).toBe(200);
    try {
      const metadata = await fetch(`${api.baseUrl}/api/v1/auth/sso/saml/${providerId}/metadata`);
      expect(metadata.status).toBe(200);
      const xml = await metadata.text();
      expect(xml).toContain(`entityID="${consoleUrl}/api/v1/auth/sso/saml/${providerId}/metadata"`);
      expect(xml).toContain(`Location="${consoleUrl}/api/v1/auth/sso/saml/${providerId}/acs"`);
      expect(xml).toContain('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
      expect(xml).toMatch(/WantAssertionsSigned="true"/);
      expect(xml).toMatch(/AuthnRequestsSigned="true"/);
      expect(xml).toContain('NameIDFormat');
      const certificates = [...xml.matchAll(/<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/g)].map((m) => m[1]!);
      expect(xml).toContain('use="signing"');
      expect(xml).toContain('use="encryption"');
      // The same certificate for both uses, and the same document again (derived, not drawn at random).
      expect(new Set(certificates).size).toBe(1);
      expect(await (await fetch(`${api.baseUrl}/api/v1/auth/sso/saml/${providerId}/metadata`)).text()).toBe(xml);
      const spCertificate = new X509Certificate(Buffer.from(certificates[0]!, 'base64')).toString();

      const request = await startLogin();
      expect(request.signed).toBe(true);
      expect(idp.requestSignatureValid(request, spCertificate)).toBe(true);

      const xmlResponse = await idp.buildResponse(request, alice, { encryptFor: spCertificate });
      expect(xmlResponse).toContain('EncryptedAssertion');
      expect(xmlResponse).not.toContain('alice@example.com');
      const reply = await postAcs(encodeSamlResponse(xmlResponse), request.relayState!);
      expect(reply.headers.get('location')).toBe(`${consoleUrl}/fleet`);
      expect((await me(cookieJar(reply))).body).toMatchObject({ email: 'alice@example.com', authMethod: 'sso' });
    } finally {
      await api.request('PATCH', `identity-providers/${providerId}`, { token: admin, body: { saml: idp.samlSettings() } });
    }
  });

  it('certificate rollover: with two certificates configured either signs; a third key is refused', async () => {
    const patched = await api.request('PATCH', `identity-providers/${providerId}`, {
      token: admin,
      body: { saml: idp.samlSettings({ idpCertificates: [idp.certificatePem, idp.rolloverCertificatePem] }) },
    });
    expect(patched.status, patched.text).toBe(200);
    try {
      for (const signingKey of ['primary', 'rollover'] as const) {
        const { reply } = await answer(alice, { signingKey });
        expect(reply.headers.get('location'), signingKey).toBe(`${consoleUrl}/fleet`);
      }
      await expectRefused(
        'signed with a key the provider does not list',
        (await answer(alice, { signingKey: 'unknown' })).reply,
        'bad_signature',
      );
    } finally {
      await api.request('PATCH', `identity-providers/${providerId}`, { token: admin, body: { saml: idp.samlSettings() } });
    }
    // Back to one certificate: the rolled-over key no longer verifies.
    await expectRefused(
      'signed with a certificate removed after the rollover',
      (await answer(alice, { signingKey: 'rollover' })).reply,
      'bad_signature',
    );
  });

  it('a step-up asks the IdP for ForceAuthn', async () => {
    const { reply } = await answer(alice);
    const jar = cookieJar(reply);
    const csrf = /xs_csrf=([^;]+)/.exec(jar)![1]!;
    const r = await api.request('POST', 'auth/sso/step-up', {
      headers: { cookie: jar, 'x-csrf-token': csrf },
      body: { returnTo: '/settings' },
    });
    expect(r.status, r.text).toBe(200);
    expect(idp.parseAuthnRequest(r.body.redirectUrl).forceAuthn).toBe(true);
  });
});

describe('SAML refusals (each audited with its reason)', () => {
  it.each<[string, SamlResponseOptions, SsoFailureReason]>([
    ['unsigned response and assertion', { sign: 'none' }, 'unsigned'],
    ['wrong audience', { audience: 'https://other-app.example/sp' }, 'wrong_audience'],
    ['expired assertion', { notOnOrAfter: new Date(Date.now() - 10 * 60_000) }, 'expired'],
    ['assertion not valid yet', { notBefore: new Date(Date.now() + 10 * 60_000) }, 'not_yet_valid'],
    ['wrong issuer', { issuer: 'https://evil.example/idp' }, 'wrong_issuer'],
    ['wrong recipient', { recipient: 'https://other-app.example/acs' }, 'wrong_recipient'],
    ['wrong destination', { destination: 'https://other-app.example/acs' }, 'wrong_destination'],
    ['tampered attribute (group added after signing)', { tamper: tamperAttributeValue('everyone', 'xs-admins') }, 'bad_signature'],
    ['IdP error status', { status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }, 'idp_error'],
    ['no NameID', { nameId: null }, 'subject_missing'],
  ])('%s', async (name, options, reason) => {
    await expectRefused(name, (await answer(rita, options)).reply, reason);
  });

  it.each<[XswVariant, SamlResponseOptions['sign'], SsoFailureReason]>([
    ['response-in-signature', 'response', 'bad_signature'],
    ['response-beside', 'response', 'bad_signature'],
    ['assertion-beside', 'assertion', 'malformed'],
    ['assertion-wrapped', 'assertion', 'unsigned'],
    ['signature-moved', 'assertion', 'bad_signature'],
    ['original-in-signature', 'assertion', 'bad_signature'],
    ['original-in-extensions', 'assertion', 'unsigned'],
    ['original-in-object', 'assertion', 'bad_signature'],
    ['duplicate-id', 'assertion', 'bad_signature'],
  ])('XML signature wrapping %s (signed %s) → %s, and the evil subject gets nothing', async (xsw, sign, reason) => {
    await expectRefused(`XSW ${xsw}`, (await answer(rita, { sign, xsw, evilNameId: 'evil-admin' })).reply, reason);
    const evil = await api.sql.query("SELECT 1 FROM user_identities WHERE subject = 'evil-admin'");
    expect(evil.rowCount).toBe(0);
  });

  it('a comment inside the NameID does not shorten it: the whole signed value is the subject', async () => {
    const carol: SamlIdpUser = { nameId: 'carol@example.com.attacker.example', email: 'carol@example.com', groups: ['everyone'] };
    const { reply } = await answer(carol, { xsw: 'comment-in-nameid' });
    expect(reply.headers.get('location')).toBe(`${consoleUrl}/fleet`);
    const identities = await api.sql.query('SELECT subject FROM user_identities WHERE provider_id = $1 AND subject LIKE $2', [
      providerId,
      'carol%',
    ]);
    expect(identities.rows.map((r) => r.subject)).toEqual(['carol@example.com.attacker.example']);
  });

  it('a response for another request: answering sign-in A, posted with sign-in B', async () => {
    const a = await startLogin();
    const b = await startLogin();
    const xml = await idp.buildResponse(a, rita);
    await expectRefused('response for another request', await postAcs(encodeSamlResponse(xml), b.relayState!), 'unknown_request');
  });

  it('a replayed response: the sign-in it answers is used up, and the assertion id is remembered', async () => {
    const request = await startLogin();
    const samlResponse = encodeSamlResponse(await idp.buildResponse(request, rita));
    const first = await postAcs(samlResponse, request.relayState!);
    expect(first.headers.get('location')).toBe(`${consoleUrl}/fleet`);
    // The same POST again (a captured form): the pending sign-in was taken once.
    await expectRefused('replayed response (same form posted again)', await postAcs(samlResponse, request.relayState!), 'unknown_request');
    // The captured answer with a sign-in of the attacker's own: it answers another request.
    const fresh = await startLogin();
    await expectRefused('replayed response with a new sign-in', await postAcs(samlResponse, fresh.relayState!), 'unknown_request');

    // Behind both, the assertion id memory (Redis, shared by every instance): the API's own SamlProtocol.
    const protocol = api.app.get(SamlProtocol);
    const providers = await api.request('GET', `identity-providers/${providerId}`, { token: admin });
    const config = {
      id: providerId,
      settings: providers.body.saml,
      sp: { entityId: request.issuer, acsUrl: request.acsUrl, metadataUrl: request.issuer, redirectUri: '' },
    };
    const again = await startLogin();
    const once = encodeSamlResponse(await idp.buildResponse(again, rita));
    expect((await protocol.consume(config, once, again.id)).subject).toBe('rita-0002');
    const replay = await protocol.consume(config, once, again.id).catch((error: unknown) => error);
    expect(replay).toBeInstanceOf(SsoFailure);
    expect((replay as SsoFailure).reason).toBe('replay');
  });

  it('not base64 / not XML → malformed', async () => {
    const request = await startLogin();
    await expectRefused(
      'not a SAML response',
      await postAcs(Buffer.from('<html>hello</html>').toString('base64'), request.relayState!),
      'malformed',
    );
  });
});
