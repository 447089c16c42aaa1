import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverOidc, discoveryUrl, OIDC_DISCOVERY_MAX_BYTES } from './oidc-discovery.js';

/** A loopback server answering each path as the test says (status, body, or never). */
describe('discoverOidc', () => {
  let server: Server;
  let base: string;
  const answers = new Map<string, { status: number; body: string } | 'hang'>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const answer = answers.get(req.url ?? '');
      if (answer === 'hang') return;
      if (!answer) return res.writeHead(404).end('not found');
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const document = (issuer: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      code_challenge_methods_supported: ['S256'],
      ...extra,
    });

  it('finds the document under the issuer (no doubled slash) and returns its endpoints', async () => {
    expect(discoveryUrl('https://idp.example.com/tenant/')).toBe('https://idp.example.com/tenant/.well-known/openid-configuration');
    const issuer = `${base}/good`;
    answers.set('/good/.well-known/openid-configuration', { status: 200, body: document(issuer) });
    await expect(discoverOidc(issuer, { timeoutMs: 2000 })).resolves.toEqual({
      issuer,
      authorizationEndpoint: `${issuer}/auth`,
      tokenEndpoint: `${issuer}/token`,
      jwksUri: `${issuer}/jwks`,
      codeChallengeMethods: ['S256'],
      tokenEndpointAuthMethods: null,
    });
  });

  it('refuses a document naming another issuer (a trailing slash differs too)', async () => {
    const issuer = `${base}/other`;
    answers.set('/other/.well-known/openid-configuration', { status: 200, body: document('https://evil.example.com') });
    await expect(discoverOidc(issuer, { timeoutMs: 2000 })).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/names "https:\/\/evil.example.com"/),
    });
    answers.set('/slash/.well-known/openid-configuration', { status: 200, body: document(`${base}/slash`) });
    await expect(discoverOidc(`${base}/slash/`, { timeoutMs: 2000 })).rejects.toMatchObject({ kind: 'invalid' });
  });

  it('refuses documents without usable endpoints, or that are not JSON objects', async () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        'nojwks',
        JSON.stringify({ issuer: `${base}/nojwks`, authorization_endpoint: 'https://x/a', token_endpoint: 'https://x/t' }),
        /no jwks_uri/,
      ],
      ['js', document(`${base}/js`, { authorization_endpoint: 'javascript:alert(1)' }), /authorization_endpoint is not an http\(s\) URL/],
      ['methods', document(`${base}/methods`, { code_challenge_methods_supported: 'S256' }), /not a list of strings/],
      ['html', '<html>sign in</html>', /not answer with JSON/],
      ['array', '[]', /JSON object/],
    ];
    for (const [path, body, message] of cases) {
      answers.set(`/${path}/.well-known/openid-configuration`, { status: 200, body });
      await expect(discoverOidc(`${base}/${path}`, { timeoutMs: 2000 }), path).rejects.toMatchObject({
        kind: 'invalid',
        message: expect.stringMatching(message),
      });
    }
  });

  it('says unreachable for an HTTP error, a closed port and a silent server; invalid for an oversized answer', async () => {
    await expect(discoverOidc(`${base}/missing`, { timeoutMs: 2000 })).rejects.toMatchObject({
      kind: 'unreachable',
      message: expect.stringMatching(/HTTP 404/),
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(discoverOidc(`http://127.0.0.1:${closedPort}`, { timeoutMs: 2000 })).rejects.toMatchObject({
      kind: 'unreachable',
      message: expect.stringMatching(/ECONNREFUSED/),
    });
    answers.set('/silent/.well-known/openid-configuration', 'hang');
    await expect(discoverOidc(`${base}/silent`, { timeoutMs: 300 })).rejects.toMatchObject({
      kind: 'unreachable',
      message: expect.stringMatching(/no answer within 0.3 s/),
    });
    answers.set('/huge/.well-known/openid-configuration', {
      status: 200,
      body: document(`${base}/huge`, { pad: 'x'.repeat(OIDC_DISCOVERY_MAX_BYTES) }),
    });
    await expect(discoverOidc(`${base}/huge`, { timeoutMs: 2000 })).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/larger than 256 KiB/),
    });
  });
});
