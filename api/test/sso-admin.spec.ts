import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi, uniqueEmail } from './support/harness.js';
import { TestOidcProvider } from './support/oidc-provider.js';
import { stepUp } from './support/step-up.js';

const CONSOLE_URL = 'http://console.test.local';
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 86_400_000;

/** A self-signed IdP signing certificate (base64 DER) valid between the two dates. */
async function certificate(cn: string, notBefore: Date, notAfter: Date): Promise<string> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${cn}`,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys: keys as never,
  });
  return Buffer.from(cert.rawData).toString('base64');
}

function pem(base64: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64.replace(/(.{64})/g, '$1\n').trim()}\n-----END CERTIFICATE-----\n`;
}

function idpMetadata(entityId: string, ssoUrl: string, certificates: string[]): string {
  const keys = certificates
    .map(
      (c) =>
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    )
    .join('');
  return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keys}
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${ssoUrl}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
}

/**
 * Identity-provider administration: CRUD with its refusals, secrets sealed and never returned,
 * metadata import and OIDC discovery against local servers, the connection test, role preview,
 * the SSO policy's lock-out checks, identity linking, RBAC, step-up and the audit trail.
 */
describe('SSO administration', () => {
  let api: TestApi;
  let admin: string;
  let plainAdmin: string;
  let soc: string;
  let readOnly: string;
  let idp: Server;
  let idpBase: string;
  let closedUrl: string;
  let oidc: TestOidcProvider;
  const pages = new Map<string, { status: number; type: string; body: string; location?: string }>();
  let cert1: string;
  let cert2: string;
  let expiredCert: string;
  let samlId: string;
  let oidcId: string;

  const samlBody = (overrides: Record<string, unknown> = {}) => ({
    protocol: 'saml',
    name: `SAML ${randomBytes(3).toString('hex')}`,
    allowedEmailDomains: ['example.com'],
    roleRules: [
      { group: 'xs-admins', role: 'super_admin' },
      { group: 'soc', role: 'soc_operator' },
    ],
    saml: {
      idpEntityId: `${idpBase}/entity`,
      ssoUrl: `${idpBase}/sso`,
      idpCertificates: [cert1],
      groupsAttribute: 'groups',
      mfaAuthnContexts: [],
    },
    ...overrides,
  });

  beforeAll(async () => {
    api = await TestApi.start({
      API_CONSOLE_URL: CONSOLE_URL,
      API_SSO_HTTP_TIMEOUT_MS: '3000',
      API_STEP_UP_TTL_SECONDS: '3600',
      API_ACCESS_TOKEN_TTL_SECONDS: '3600',
    });
    admin = await api.adminToken();
    soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    readOnly = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    await stepUp(api, admin);
    plainAdmin = await api.tokenFor((await api.createUser(admin, 'super_admin')).email);

    const now = Date.now();
    [cert1, cert2, expiredCert] = await Promise.all([
      certificate('idp signing', new Date(now - DAY_MS), new Date(now + 90 * DAY_MS + DAY_MS / 2)),
      certificate('idp rollover', new Date(now - DAY_MS), new Date(now + 400 * DAY_MS)),
      certificate('idp expired', new Date(now - 400 * DAY_MS), new Date(now - 3 * DAY_MS - DAY_MS / 2)),
    ]);

    idp = createServer((req, res) => {
      const page = pages.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (!page) return res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      res.writeHead(page.status, { 'content-type': page.type, ...(page.location ? { location: page.location } : {}) }).end(page.body);
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    idpBase = `http://127.0.0.1:${(idp.address() as { port: number }).port}`;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedUrl = `http://127.0.0.1:${(closed.address() as { port: number }).port}`;
    await new Promise((resolve) => closed.close(resolve));

    pages.set('/metadata', {
      status: 200,
      type: 'application/samlmetadata+xml',
      body: idpMetadata(`${idpBase}/entity`, `${idpBase}/sso`, [cert1]),
    });
    pages.set('/sso', { status: 400, type: 'text/html', body: '<html>SAMLRequest missing</html>' });
    oidc = await TestOidcProvider.start();
  });
  afterAll(async () => {
    await oidc?.stop();
    idp?.closeAllConnections();
    await new Promise((resolve) => (idp ? idp.close(resolve) : resolve(undefined)));
    await api?.stop();
  });

  describe('access', () => {
    it('is for Super Admins: SOC operators and read-only users are refused every route', async () => {
      for (const token of [soc, readOnly]) {
        for (const [method, path, body] of [
          ['GET', 'identity-providers', undefined],
          ['POST', 'identity-providers', samlBody()],
          ['POST', 'identity-providers/saml-metadata', { metadataUrl: `${idpBase}/metadata` }],
          ['POST', 'identity-providers/oidc-discovery', { issuer: oidc.issuer }],
          ['GET', 'sso/policy', undefined],
          ['PUT', 'sso/policy', { ssoRequired: false, breakGlassUserIds: [] }],
        ] as const) {
          const r = await api.request(method, path, { token, body });
          expect(r.status, `${method} ${path}`).toBe(403);
          expect(r.body.code).toBe('AUTH_FORBIDDEN');
        }
      }
    });

    it('asks for step-up before changes, not before reading or importing', async () => {
      const created = await api.request('POST', 'identity-providers', { token: plainAdmin, body: samlBody() });
      expect(created.status).toBe(403);
      expect(created.body.code).toBe('AUTH_STEP_UP_REQUIRED');
      const policy = await api.request('PUT', 'sso/policy', { token: plainAdmin, body: { ssoRequired: false, breakGlassUserIds: [] } });
      expect(policy.body.code).toBe('AUTH_STEP_UP_REQUIRED');
      expect((await api.request('GET', 'identity-providers', { token: plainAdmin })).status).toBe(200);
      expect((await api.request('GET', 'sso/policy', { token: plainAdmin })).status).toBe(200);
      const imported = await api.request('POST', 'identity-providers/saml-metadata', {
        token: plainAdmin,
        body: { metadataUrl: `${idpBase}/metadata` },
      });
      expect(imported.status).toBe(200);
    });
  });

  describe('SAML providers', () => {
    it('creates a provider: certificates (PEM or bare base64) stored as PEM, SP URLs under API_CONSOLE_URL, audited', async () => {
      const body = samlBody({ name: 'Corporate SAML' });
      (body.saml as { idpCertificates: string[] }).idpCertificates = [cert1, pem(cert2)];
      const r = await api.request('POST', 'identity-providers', { token: admin, body });
      expect(r.status, r.text).toBe(201);
      samlId = r.body.id;
      expect(r.body).toMatchObject({
        protocol: 'saml',
        name: 'Corporate SAML',
        preset: 'generic',
        enabled: true,
        hasClientSecret: false,
        oidc: null,
        sessionMaxSeconds: 8 * 3600,
      });
      expect(r.body.saml.idpCertificates).toEqual([pem(cert1).trim(), pem(cert2).trim()]);
      expect(r.body.saml.metadataUrl).toBeNull();
      expect(r.body.serviceProvider).toEqual({
        entityId: `${CONSOLE_URL}/api/v1/auth/sso/saml/${samlId}/metadata`,
        acsUrl: `${CONSOLE_URL}/api/v1/auth/sso/saml/${samlId}/acs`,
        metadataUrl: `${CONSOLE_URL}/api/v1/auth/sso/saml/${samlId}/metadata`,
        redirectUri: `${CONSOLE_URL}/api/v1/auth/sso/oidc/${samlId}/callback`,
      });
      const [audit] = await api.auditRows(`action = 'sso.provider_create' AND resource_id = $1`, [samlId]);
      expect(audit).toMatchObject({ result: 'success', resource_type: 'identity_provider', user_email: 'admin@test.local' });
      expect(audit.details).toMatchObject({ name: 'Corporate SAML', protocol: 'saml' });
      const got = await api.request('GET', `identity-providers/${samlId}`, { token: admin });
      expect(got.body).toEqual(r.body);
    });

    it('refuses a certificate that is not X.509, naming which, and stores nothing', async () => {
      const body = samlBody({ name: 'Bad certificate' });
      (body.saml as { idpCertificates: string[] }).idpCertificates = [cert1, Buffer.from('x'.repeat(120)).toString('base64')];
      const r = await api.request('POST', 'identity-providers', { token: admin, body });
      expect(r.status).toBe(422);
      expect(r.body.code).toBe('SSO_PROVIDER_INVALID');
      expect(r.body.detail).toMatch(/saml\.idpCertificates\[1\] is not an X\.509 certificate/);
      expect(r.body.errors).toEqual([{ path: 'body.saml.idpCertificates.1', message: expect.any(String) }]);
      expect((await api.sql.query(`SELECT 1 FROM identity_providers WHERE name = 'Bad certificate'`)).rowCount).toBe(0);
      const [audit] = await api.auditRows(`action = 'sso.provider_create' AND error_message LIKE 'SSO_PROVIDER_INVALID:%'`);
      expect(audit).toMatchObject({ result: 'failure', error_message: expect.stringMatching(/idpCertificates\[1\]/) });
    });

    it('refuses a taken name, unknown fields and settings of the wrong shape', async () => {
      const taken = await api.request('POST', 'identity-providers', { token: admin, body: samlBody({ name: 'Corporate SAML' }) });
      expect(taken.status).toBe(409);
      expect(taken.body).toMatchObject({ code: 'SSO_PROVIDER_NAME_TAKEN' });
      expect(taken.body.detail).toMatch(/named "Corporate SAML" exists/);
      const unknown = await api.request('POST', 'identity-providers', { token: admin, body: { ...samlBody(), isAdmin: true } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.code).toBe('VALIDATION_FAILED');
      const nestedUnknown = samlBody();
      (nestedUnknown.saml as Record<string, unknown>).privateKey = 'x';
      expect((await api.request('POST', 'identity-providers', { token: admin, body: nestedUnknown })).status).toBe(400);
      const noDomains = await api.request('POST', 'identity-providers', { token: admin, body: samlBody({ allowedEmailDomains: [] }) });
      expect(noDomains.status).toBe(400);
      const badRole = await api.request('POST', 'identity-providers', {
        token: admin,
        body: samlBody({ roleRules: [{ group: 'g', role: 'root' }] }),
      });
      expect(badRole.status).toBe(400);
      const httpIssuer = await api.request('POST', 'identity-providers', {
        token: admin,
        body: {
          protocol: 'oidc',
          name: 'Plain',
          allowedEmailDomains: ['example.com'],
          roleRules: [],
          oidc: { issuer: 'http://login.example.com', clientId: 'c' },
          clientSecret: null,
        },
      });
      expect(httpIssuer.body).toMatchObject({ code: 'SSO_PROVIDER_INVALID', errors: [{ path: 'body.oidc.issuer' }] });
      const httpSso = samlBody();
      (httpSso.saml as { ssoUrl: string }).ssoUrl = 'http://idp.example.com/sso';
      expect((await api.request('POST', 'identity-providers', { token: admin, body: httpSso })).body.errors).toEqual([
        { path: 'body.saml.ssoUrl', message: expect.stringMatching(/plain http/) },
      ]);
      const samlWithSecret = await api.request('POST', 'identity-providers', { token: admin, body: samlBody({ clientSecret: 'x' }) });
      expect(samlWithSecret.status).toBe(400);
    });

    it('changes a provider; the protocol and a SAML client secret are refused; the audit names the changed fields', async () => {
      const r = await api.request('PATCH', `identity-providers/${samlId}`, {
        token: admin,
        body: { roleRules: [{ group: 'soc', role: 'soc_operator' }], preset: 'entra' },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ preset: 'entra', roleRules: [{ group: 'soc', role: 'soc_operator' }] });
      const [audit] = await api.auditRows(`action = 'sso.provider_update' AND resource_id = $1 AND result = 'success'`, [samlId]);
      expect([...audit.details.changed].sort()).toEqual(['preset', 'roleRules']);
      const toOidc = await api.request('PATCH', `identity-providers/${samlId}`, {
        token: admin,
        body: { oidc: { issuer: oidc.issuer, clientId: 'c' } },
      });
      expect(toOidc.status).toBe(422);
      expect(toOidc.body.detail).toMatch(/protocol cannot change/);
      const secret = await api.request('PATCH', `identity-providers/${samlId}`, { token: admin, body: { clientSecret: 'abc' } });
      expect(secret.status).toBe(422);
      const badCert = await api.request('PATCH', `identity-providers/${samlId}`, {
        token: admin,
        body: { saml: { ...r.body.saml, idpCertificates: ['not a certificate but long enough '.repeat(4)] } },
      });
      expect(badCert.status).toBe(422);
      expect(badCert.body.detail).toMatch(/idpCertificates\[0\]/);
      expect((await api.request('PATCH', `identity-providers/${samlId}`, { token: admin, body: {} })).status).toBe(400);
      expect((await api.request('PATCH', `identity-providers/${randomUuid()}`, { token: admin, body: { enabled: true } })).body.code).toBe(
        'SSO_PROVIDER_NOT_FOUND',
      );
    });

    it('previews the role a set of groups gives: the first matching rule, or no access', async () => {
      await api.request('PATCH', `identity-providers/${samlId}`, {
        token: admin,
        body: {
          roleRules: [
            { group: 'xs-admins', role: 'super_admin' },
            { group: 'soc', role: 'soc_operator' },
            { group: 'all', role: 'read_only' },
          ],
        },
      });
      const preview = (groups: string[]) =>
        api.request('POST', `identity-providers/${samlId}/role-preview`, { token: admin, body: { groups } });
      expect((await preview(['all', 'soc'])).body).toEqual({ role: 'soc_operator', matchedRule: 1 });
      expect((await preview(['xs-admins', 'all'])).body).toEqual({ role: 'super_admin', matchedRule: 0 });
      expect((await preview(['marketing'])).body).toEqual({ role: null, matchedRule: null });
      expect((await preview([])).body).toEqual({ role: null, matchedRule: null });
      expect(
        (await api.request('POST', `identity-providers/${randomUuid()}/role-preview`, { token: admin, body: { groups: [] } })).status,
      ).toBe(404);
    });
  });

  describe('SAML metadata import', () => {
    it('reads the settings from pasted XML and from a URL', async () => {
      const xml = idpMetadata('https://idp.example.com/entity', 'https://idp.example.com/sso', [cert1, cert2]);
      const fromXml = await api.request('POST', 'identity-providers/saml-metadata', { token: admin, body: { metadataXml: xml } });
      expect(fromXml.status, fromXml.text).toBe(200);
      expect(fromXml.body).toEqual({
        idpEntityId: 'https://idp.example.com/entity',
        ssoUrl: 'https://idp.example.com/sso',
        idpCertificates: [pem(cert1).trim(), pem(cert2).trim()],
        metadataUrl: null,
      });
      pages.set('/moved', { status: 301, type: 'text/plain', body: '', location: '/metadata' });
      const moved = await api.request('POST', 'identity-providers/saml-metadata', {
        token: admin,
        body: { metadataUrl: `${idpBase}/moved` },
      });
      expect(moved.body.idpEntityId).toBe(`${idpBase}/entity`);
      const fromUrl = await api.request('POST', 'identity-providers/saml-metadata', {
        token: admin,
        body: { metadataUrl: `${idpBase}/metadata` },
      });
      expect(fromUrl.status, fromUrl.text).toBe(200);
      expect(fromUrl.body).toEqual({
        idpEntityId: `${idpBase}/entity`,
        ssoUrl: `${idpBase}/sso`,
        idpCertificates: [pem(cert1).trim()],
        metadataUrl: `${idpBase}/metadata`,
      });
      const [audit] = await api.auditRows(`action = 'sso.metadata_import' AND details->>'source' = $1`, [`${idpBase}/metadata`]);
      expect(audit).toMatchObject({ result: 'success' });
    });

    it('refuses a DOCTYPE, a document that is not metadata, an oversized one (422) and an unreachable URL (502)', async () => {
      const xml = idpMetadata('https://idp.example.com/entity', 'https://idp.example.com/sso', [cert1]);
      const doctype = xml.replace('<?xml version="1.0"?>', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>');
      const cases: Array<[string, Record<string, string>, number, string, RegExp]> = [
        ['DOCTYPE in XML', { metadataXml: doctype }, 422, 'SSO_PROVIDER_INVALID', /DOCTYPE/],
        ['HTML in XML', { metadataXml: '<html><body>Sign in</body></html>' }, 422, 'SSO_PROVIDER_INVALID', /not SAML 2.0 metadata/],
        ['DOCTYPE at URL', { metadataUrl: `${idpBase}/doctype` }, 422, 'SSO_PROVIDER_INVALID', /DOCTYPE/],
        ['HTML at URL', { metadataUrl: `${idpBase}/html` }, 422, 'SSO_PROVIDER_INVALID', /not SAML 2.0 metadata/],
        ['oversized at URL', { metadataUrl: `${idpBase}/huge` }, 422, 'SSO_PROVIDER_INVALID', /larger than 512 KiB/],
        ['404 at URL', { metadataUrl: `${idpBase}/nothing-here` }, 502, 'SSO_PROVIDER_UNREACHABLE', /HTTP 404/],
        ['closed port', { metadataUrl: `${closedUrl}/metadata` }, 502, 'SSO_PROVIDER_UNREACHABLE', /ECONNREFUSED/],
        [
          'plain http off loopback',
          { metadataUrl: 'http://idp.example.com/metadata' },
          422,
          'SSO_PROVIDER_INVALID',
          /plain http is refused for idp.example.com/,
        ],
        [
          'redirect to plain http',
          { metadataUrl: `${idpBase}/to-http` },
          502,
          'SSO_PROVIDER_UNREACHABLE',
          /redirected to http:\/\/idp.example.com\/metadata: plain http is refused/,
        ],
      ];
      pages.set('/to-http', { status: 302, type: 'text/plain', body: '', location: 'http://idp.example.com/metadata' });
      pages.set('/doctype', { status: 200, type: 'application/xml', body: doctype });
      pages.set('/html', { status: 200, type: 'text/html', body: '<html><body>Sign in</body></html>' });
      pages.set('/huge', {
        status: 200,
        type: 'application/xml',
        body: xml.replace('<md:IDPSSODescriptor', `<!--${'x'.repeat(600 * 1024)}--><md:IDPSSODescriptor`),
      });
      for (const [label, body, status, code, detail] of cases) {
        const r = await api.request('POST', 'identity-providers/saml-metadata', { token: admin, body });
        expect(r.status, label).toBe(status);
        expect(r.body.code, label).toBe(code);
        expect(r.body.detail, label).toMatch(detail);
      }
      const both = await api.request('POST', 'identity-providers/saml-metadata', {
        token: admin,
        body: { metadataXml: xml, metadataUrl: `${idpBase}/metadata` },
      });
      expect(both.status).toBe(400);
      const ftp = await api.request('POST', 'identity-providers/saml-metadata', {
        token: admin,
        body: { metadataUrl: 'ftp://idp.example.com/metadata' },
      });
      expect(ftp.status).toBe(400);
      expect((await api.auditRows(`action = 'sso.metadata_import' AND result = 'failure'`)).length).toBeGreaterThanOrEqual(cases.length);
    });
  });

  describe('OpenID Connect providers', () => {
    it('discovers an issuer (a real OpenID provider) and refuses a document naming another issuer or an unreachable one', async () => {
      const found = await api.request('POST', 'identity-providers/oidc-discovery', { token: admin, body: { issuer: oidc.issuer } });
      expect(found.status, found.text).toBe(200);
      expect(found.body).toMatchObject({
        issuer: oidc.issuer,
        tokenEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1/),
        jwksUri: expect.any(String),
      });
      expect(found.body.codeChallengeMethods).toContain('S256');
      pages.set('/liar/.well-known/openid-configuration', {
        status: 200,
        type: 'application/json',
        body: JSON.stringify({
          issuer: oidc.issuer,
          authorization_endpoint: `${oidc.issuer}/auth`,
          token_endpoint: `${oidc.issuer}/token`,
          jwks_uri: `${oidc.issuer}/jwks`,
        }),
      });
      const liar = await api.request('POST', 'identity-providers/oidc-discovery', { token: admin, body: { issuer: `${idpBase}/liar` } });
      expect(liar.status).toBe(422);
      expect(liar.body).toMatchObject({
        code: 'SSO_PROVIDER_INVALID',
        detail: expect.stringMatching(/names "http:\/\/127\.0\.0\.1:\d+", not/),
      });
      const plainHttp = await api.request('POST', 'identity-providers/oidc-discovery', {
        token: admin,
        body: { issuer: 'http://login.example.com' },
      });
      expect(plainHttp.body).toMatchObject({
        code: 'SSO_PROVIDER_INVALID',
        detail: 'issuer: plain http is refused for login.example.com: use https',
      });
      const unreachable = await api.request('POST', 'identity-providers/oidc-discovery', { token: admin, body: { issuer: closedUrl } });
      expect(unreachable.status).toBe(502);
      expect(unreachable.body.code).toBe('SSO_PROVIDER_UNREACHABLE');
    });

    it('seals the client secret: never returned or audited, replaced, kept when absent, removed by null', async () => {
      const secret = `s3cret-${randomBytes(12).toString('hex')}`;
      const r = await api.request('POST', 'identity-providers', {
        token: admin,
        body: {
          protocol: 'oidc',
          name: 'Corporate OIDC',
          preset: 'google',
          allowedEmailDomains: ['example.com', 'EXAMPLE.com'],
          roleRules: [{ group: 'soc', role: 'soc_operator' }],
          oidc: { issuer: oidc.issuer, clientId: oidc.clientId, hostedDomain: 'example.com' },
          clientSecret: secret,
        },
      });
      expect(r.status, r.text).toBe(201);
      oidcId = r.body.id;
      expect(r.body).toMatchObject({ hasClientSecret: true, saml: null, allowedEmailDomains: ['example.com'] });
      expect(r.body.oidc).toMatchObject({
        issuer: oidc.issuer,
        clientId: oidc.clientId,
        scopes: ['openid', 'email', 'profile'],
        groupsClaim: 'groups',
      });
      expect(r.text).not.toContain(secret);
      expect(r.body).not.toHaveProperty('clientSecret');
      const sealed = async () =>
        (await api.sql.query(`SELECT client_secret_sealed AS s, settings::text AS t FROM identity_providers WHERE id = $1`, [oidcId]))
          .rows[0];
      const stored = await sealed();
      expect(stored.s).toEqual(expect.any(String));
      expect(stored.s).not.toContain(secret);
      expect(stored.s).not.toContain(Buffer.from(secret).toString('base64'));
      expect(stored.t).not.toContain(secret);
      expect((await api.request('GET', 'identity-providers', { token: admin })).text).not.toContain(secret);

      const renamed = await api.request('PATCH', `identity-providers/${oidcId}`, {
        token: admin,
        body: { name: 'Corporate OIDC (Google)' },
      });
      expect(renamed.body.hasClientSecret).toBe(true);
      expect((await sealed()).s).toBe(stored.s);
      const secret2 = `other-${randomBytes(12).toString('hex')}`;
      const replaced = await api.request('PATCH', `identity-providers/${oidcId}`, { token: admin, body: { clientSecret: secret2 } });
      expect(replaced.status).toBe(200);
      expect(replaced.text).not.toContain(secret2);
      const replacedSealed = (await sealed()).s;
      expect(replacedSealed).not.toBe(stored.s);
      expect(replacedSealed).not.toContain(secret2);
      const removed = await api.request('PATCH', `identity-providers/${oidcId}`, { token: admin, body: { clientSecret: null } });
      expect(removed.body.hasClientSecret).toBe(false);
      expect((await sealed()).s).toBeNull();
      const toSaml = await api.request('PATCH', `identity-providers/${oidcId}`, { token: admin, body: { saml: samlBody().saml } });
      expect(toSaml.status).toBe(422);
      expect(toSaml.body.detail).toMatch(/protocol cannot change/);

      const audits = await api.auditRows(`resource_id = $1`, [oidcId]);
      expect(audits.map((a) => a.action)).toEqual([
        'sso.provider_create',
        'sso.provider_update',
        'sso.provider_update',
        'sso.provider_update',
        'sso.provider_update',
      ]);
      expect(audits.map((a) => a.details.changed ?? null)).toEqual([null, ['name'], ['clientSecret'], ['clientSecret'], ['saml']]);
      const auditText = JSON.stringify(audits);
      expect(auditText).not.toContain(secret);
      expect(auditText).not.toContain(secret2);
      // Back to the real secret for the connection test.
      await api.request('PATCH', `identity-providers/${oidcId}`, { token: admin, body: { clientSecret: oidc.clientSecret } });
    });

    it('tests the connection: discovery, keys, PKCE and the client credentials at the real token endpoint', async () => {
      const redirectUri = `${CONSOLE_URL}/api/v1/auth/sso/oidc/${oidcId}/callback`;
      const unregistered = await api.request('POST', `identity-providers/${oidcId}/test`, { token: admin });
      expect(unregistered.body.ok).toBe(false);
      expect(unregistered.body.checks.at(-1)).toEqual({
        name: 'client credentials',
        ok: false,
        detail: `the provider does not know the redirect URI: register ${redirectUri}`,
      });
      oidc.redirectUris = [redirectUri];
      const good = await api.request('POST', `identity-providers/${oidcId}/test`, { token: admin });
      expect(good.status, good.text).toBe(200);
      expect(good.body.checks.map((c: { name: string }) => c.name)).toEqual([
        'service provider URLs',
        'discovery',
        'signing keys (JWKS)',
        'PKCE S256',
        'client credentials',
      ]);
      expect(good.body.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
      expect(good.body.ok).toBe(true);
      expect(good.body.checks[4].detail).toMatch(/invalid_grant/);

      await api.request('PATCH', `identity-providers/${oidcId}`, { token: admin, body: { clientSecret: 'wrong-secret-value' } });
      const wrong = await api.request('POST', `identity-providers/${oidcId}/test`, { token: admin });
      expect(wrong.body.ok).toBe(false);
      expect(wrong.body.checks.find((c: { name: string }) => c.name === 'client credentials')).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/invalid_client/),
      });
      const [audit] = (await api.auditRows(`action = 'sso.provider_test' AND resource_id = $1`, [oidcId])).slice(-1);
      expect(audit.details).toMatchObject({ ok: false, failed: ['client credentials'] });
      expect(JSON.stringify(audit)).not.toContain('wrong-secret-value');
      await api.request('PATCH', `identity-providers/${oidcId}`, { token: admin, body: { clientSecret: oidc.clientSecret } });
    });
  });

  describe('SAML connection test', () => {
    it('passes with the metadata URL naming the stored entity id and certificates, valid certificates and an answering SSO URL', async () => {
      const set = await api.request('PATCH', `identity-providers/${samlId}`, {
        token: admin,
        body: { saml: { ...samlBody().saml, idpCertificates: [cert1], metadataUrl: `${idpBase}/metadata` } },
      });
      expect(set.status, set.text).toBe(200);
      const r = await api.request('POST', `identity-providers/${samlId}/test`, { token: admin });
      expect(r.status, r.text).toBe(200);
      expect(r.body.checks).toEqual([
        { name: 'service provider URLs', ok: true, detail: `${CONSOLE_URL}/api/v1/auth/sso/saml/${samlId}/metadata` },
        { name: 'metadata URL', ok: true, detail: expect.any(String) },
        { name: 'metadata entity id', ok: true, detail: `matches ${idpBase}/entity` },
        { name: 'metadata certificates', ok: true, detail: expect.any(String) },
        { name: 'signing certificate 1', ok: true, detail: expect.stringMatching(/^CN=idp signing: expires in 90 days/) },
        { name: 'SSO URL', ok: true, detail: 'answered HTTP 400' },
      ]);
      expect(r.body.ok).toBe(true);
    });

    it('fails on a certificate rollover not imported, a changed entity id, an expired certificate and a dead SSO URL', async () => {
      pages.set('/metadata', {
        status: 200,
        type: 'application/xml',
        body: idpMetadata(`${idpBase}/entity-new`, `${idpBase}/sso`, [cert1, cert2]),
      });
      await api.request('PATCH', `identity-providers/${samlId}`, {
        token: admin,
        body: {
          saml: {
            ...samlBody().saml,
            idpCertificates: [cert1, expiredCert],
            metadataUrl: `${idpBase}/metadata`,
            ssoUrl: `${closedUrl}/sso`,
          },
        },
      });
      const r = await api.request('POST', `identity-providers/${samlId}/test`, { token: admin });
      expect(r.body.ok).toBe(false);
      const byName = Object.fromEntries(r.body.checks.map((c: { name: string }) => [c.name, c]));
      expect(byName['metadata entity id']).toMatchObject({ ok: false, detail: expect.stringMatching(/entity-new/) });
      expect(byName['metadata certificates']).toMatchObject({
        ok: false,
        detail: expect.stringMatching(
          /1 published certificate\(s\) are not stored here.*1 stored certificate\(s\) are no longer published/,
        ),
      });
      expect(byName['signing certificate 1'].ok).toBe(true);
      expect(byName['signing certificate 2']).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/^CN=idp expired: expired 3 days ago/),
      });
      expect(byName['SSO URL']).toMatchObject({ ok: false, detail: expect.stringMatching(/ECONNREFUSED/) });
      pages.set('/metadata', { status: 200, type: 'application/xml', body: idpMetadata(`${idpBase}/entity`, `${idpBase}/sso`, [cert1]) });
      await api.request('PATCH', `identity-providers/${samlId}`, {
        token: admin,
        body: { saml: { ...samlBody().saml, metadataUrl: `${idpBase}/metadata` } },
      });
    });
  });

  it('lists providers with empty SP URLs on an instance without API_CONSOLE_URL', async () => {
    const sibling = await TestApi.startSibling(api);
    try {
      const r = await sibling.request('GET', 'identity-providers', { token: admin });
      expect(r.status, r.text).toBe(200);
      expect(r.body.items.length).toBeGreaterThanOrEqual(2);
      for (const item of r.body.items) expect(item.serviceProvider).toEqual({ entityId: '', acsUrl: '', metadataUrl: '', redirectUri: '' });
    } finally {
      await sibling.stop();
    }
  });

  describe('identity linking', () => {
    it('links an IdP subject to a local user once; a subject linked twice is refused; unlinking ends the user’s sessions', async () => {
      const local = await api.createUser(admin, 'soc_operator');
      const other = await api.createUser(admin, 'read_only');
      const localToken = await api.tokenFor(local.email);
      const subject = `subject-${randomBytes(4).toString('hex')}`;
      const linked = await api.request('POST', `users/${local.id}/identities`, { token: admin, body: { providerId: oidcId, subject } });
      expect(linked.status, linked.text).toBe(201);
      expect(linked.body.signIn).toMatchObject({
        password: true,
        breakGlass: false,
        identities: [{ providerId: oidcId, subject, lastLoginAt: null }],
      });
      const identityId = linked.body.signIn.identities[0].id;

      const twice = await api.request('POST', `users/${other.id}/identities`, { token: admin, body: { providerId: oidcId, subject } });
      expect(twice.status).toBe(409);
      expect(twice.body.code).toBe('SSO_IDENTITY_TAKEN');
      const secondAtProvider = await api.request('POST', `users/${local.id}/identities`, {
        token: admin,
        body: { providerId: oidcId, subject: 'another' },
      });
      expect(secondAtProvider.body.code).toBe('SSO_IDENTITY_TAKEN');
      const unknownProvider = await api.request('POST', `users/${local.id}/identities`, {
        token: admin,
        body: { providerId: randomUuid(), subject: 'x' },
      });
      expect(unknownProvider.status).toBe(404);
      expect(unknownProvider.body.code).toBe('SSO_PROVIDER_NOT_FOUND');
      expect(
        (await api.request('POST', `users/${randomUuid()}/identities`, { token: admin, body: { providerId: oidcId, subject: 'y' } })).body
          .code,
      ).toBe('USER_NOT_FOUND');
      expect(
        (await api.request('POST', `users/${local.id}/identities`, { token: plainAdmin, body: { providerId: oidcId, subject: 'z' } })).body
          .code,
      ).toBe('AUTH_STEP_UP_REQUIRED');
      expect(
        (await api.request('POST', `users/${local.id}/identities`, { token: soc, body: { providerId: oidcId, subject: 'z' } })).status,
      ).toBe(403);

      const listed = await api.request('GET', `users/${local.id}`, { token: admin });
      expect(listed.body.signIn.identities).toHaveLength(1);
      expect((await api.request('GET', 'auth/me', { token: localToken })).status).toBe(200);

      const unlinked = await api.request('DELETE', `users/${local.id}/identities/${identityId}`, { token: admin });
      expect(unlinked.status, unlinked.text).toBe(200);
      expect(unlinked.body.signIn.identities).toEqual([]);
      expect((await api.request('GET', 'auth/me', { token: localToken })).status).toBe(401);
      const again = await api.request('DELETE', `users/${local.id}/identities/${identityId}`, { token: admin });
      expect(again.status).toBe(404);
      expect(again.body.code).toBe('SSO_IDENTITY_NOT_FOUND');
      // The subject is free again: another user may have it.
      expect(
        (await api.request('POST', `users/${other.id}/identities`, { token: admin, body: { providerId: oidcId, subject } })).status,
      ).toBe(201);

      const audits = await api.auditRows(`action IN ('user.identity_link', 'user.identity_unlink') AND resource_id = $1`, [local.id]);
      expect(audits.map((a) => [a.action, a.result, a.error_message?.split(':')[0] ?? null])).toEqual([
        ['user.identity_link', 'success', null],
        ['user.identity_link', 'failure', 'SSO_IDENTITY_TAKEN'],
        ['user.identity_link', 'failure', 'SSO_PROVIDER_NOT_FOUND'],
        ['user.identity_link', 'failure', 'AUTH_STEP_UP_REQUIRED'],
        ['user.identity_link', 'failure', 'AUTH_FORBIDDEN'],
        ['user.identity_unlink', 'success', null],
        ['user.identity_unlink', 'failure', 'SSO_IDENTITY_NOT_FOUND'],
      ]);
      expect(audits[0].details).toMatchObject({ providerId: oidcId, subject, identityId });
      expect(audits[5].details).toMatchObject({ identityId, providerId: oidcId, subject, revokedSessions: 1 });
    });
  });

  describe('SSO policy', () => {
    it('refuses a policy that would lock operators out, then makes SSO mandatory with a break-glass Super Admin', async () => {
      expect((await api.request('GET', 'sso/policy', { token: admin })).body).toEqual({ ssoRequired: false, breakGlassUserIds: [] });
      const adminId = (await api.request('GET', 'auth/me', { token: admin })).body.id as string;
      const socUser = await api.createUser(admin, 'soc_operator');
      const socUserToken = await api.tokenFor(socUser.email);
      const noTotpAdmin = await api.createUser(admin, 'super_admin');
      const disabled = await api.createUser(admin, 'read_only');
      await api.request('PATCH', `users/${disabled.id}`, { token: admin, body: { status: 'disabled' } });
      const ssoOnly = (
        await api.sql.query(
          `INSERT INTO users (email, display_name, role, password_hash) VALUES ($1, 'SSO only', 'super_admin', NULL) RETURNING id`,
          [uniqueEmail('sso-only')],
        )
      ).rows[0].id as string;
      const put = (ssoRequired: boolean, breakGlassUserIds: string[]) =>
        api.request('PUT', 'sso/policy', { token: admin, body: { ssoRequired, breakGlassUserIds } });

      const cases: Array<[string, boolean, string[], RegExp]> = [
        ['unknown user', false, [randomUuid()], /breakGlassUserIds\[0\]: no user/],
        ['disabled user', false, [adminId, disabled.id], /breakGlassUserIds\[1\]: .* is disabled/],
        ['SSO-only user', false, [ssoOnly], /has no password/],
        ['no Super Admin', true, [socUser.id], /active Super Admin with TOTP/],
        ['Super Admin without TOTP', true, [noTotpAdmin.id], /active Super Admin with TOTP/],
        ['nobody', true, [], /active Super Admin with TOTP/],
      ];
      for (const [label, required, ids, detail] of cases) {
        const r = await put(required, ids);
        expect(r.status, label).toBe(422);
        expect(r.body.code, label).toBe('SSO_POLICY_INVALID');
        expect(r.body.detail, label).toMatch(detail);
      }
      expect((await put(false, [adminId, adminId])).status).toBe(400);

      // No enabled provider: turn both off first (allowed while SSO is optional).
      for (const id of [samlId, oidcId])
        expect((await api.request('PATCH', `identity-providers/${id}`, { token: admin, body: { enabled: false } })).status).toBe(200);
      const noProvider = await put(true, [adminId]);
      expect(noProvider.status).toBe(422);
      expect(noProvider.body.detail).toMatch(/without an enabled identity provider/);
      await api.request('PATCH', `identity-providers/${oidcId}`, { token: admin, body: { enabled: true } });

      const ok = await put(true, [adminId, noTotpAdmin.id]);
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body).toEqual({ ssoRequired: true, breakGlassUserIds: [adminId, noTotpAdmin.id] });
      expect((await api.request('GET', 'sso/policy', { token: admin })).body).toEqual(ok.body);
      const breakGlass = await api.request('GET', `users/${adminId}`, { token: admin });
      expect(breakGlass.body.signIn.breakGlass).toBe(true);
      // In force at once: a non-break-glass password session is refused.
      expect((await api.request('GET', 'auth/me', { token: socUserToken })).body.code).toBe('AUTH_SSO_REQUIRED');

      // The last enabled provider can be neither turned off nor deleted while SSO is mandatory.
      const off = await api.request('PATCH', `identity-providers/${oidcId}`, { token: admin, body: { enabled: false } });
      expect(off.status).toBe(422);
      expect(off.body.code).toBe('SSO_POLICY_INVALID');
      const deleted = await api.request('DELETE', `identity-providers/${oidcId}`, { token: admin });
      expect(deleted.body.code).toBe('SSO_POLICY_INVALID');
      expect(deleted.body.detail).toMatch(/last enabled identity provider/);
      // A disabled one can go.
      expect((await api.request('DELETE', `identity-providers/${samlId}`, { token: admin })).status).toBe(200);

      const audits = await api.auditRows(`action = 'sso.policy_update'`);
      expect(audits.filter((a) => a.error_message?.startsWith('SSO_POLICY_INVALID:')).map((a) => a.error_message)).toHaveLength(
        cases.length + 1,
      );
      expect(audits.at(-1)).toMatchObject({
        result: 'success',
        details: { ssoRequiredFrom: false, ssoRequiredTo: true, breakGlassUserIdsTo: [adminId, noTotpAdmin.id] },
      });

      expect((await put(false, [])).status).toBe(200);
      expect((await api.request('DELETE', `identity-providers/${oidcId}`, { token: admin })).status).toBe(200);
      expect((await api.request('GET', 'identity-providers', { token: admin })).body.items).toEqual([]);
      const deletes = await api.auditRows(`action = 'sso.provider_delete'`);
      expect(deletes.map((a) => [a.resource_id, a.result])).toEqual([
        [oidcId, 'failure'],
        [samlId, 'success'],
        [oidcId, 'success'],
      ]);
    });
  });
});

function randomUuid(): string {
  return webcrypto.randomUUID();
}
