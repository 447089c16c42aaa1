import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi, uniqueEmail } from '../../api/test/support/harness.js';
import { httpFrom } from '../../api/test/support/http-from.js';
import { ConsoleServer, ensureConsoleBuilt, freePort } from './support/console-server.js';

/**
 * The built console server (server.mjs) between clients and the real API, as behind the TLS proxy
 * the README recommends. The console trusts only 127.0.0.2 (CONSOLE_TRUST_PROXY): a test connecting
 * from there is the TLS proxy, one from 127.0.0.1 a direct client. The API trusts the console
 * (loopback, its default).
 */
describe('console server: client addresses reach the API', () => {
  const PROXY = '127.0.0.2';
  const DIRECT = '127.0.0.1';
  let api: TestApi;
  let web: ConsoleServer;

  const login = (from: string, xff: string, email: string) =>
    httpFrom(from, `${web.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'x-forwarded-for': xff },
      body: { email, password: 'wrong password 1' },
    });
  const lastFailureIp = async (email: string) =>
    (await api.auditRows(`action = 'auth.login' AND result = 'failure' AND user_email = $1`, [email])).at(-1)?.source_ip;

  beforeAll(async () => {
    await ensureConsoleBuilt();
    api = await TestApi.start({ API_LOGIN_RATE_LIMIT_PER_IP: '3' });
    web = await ConsoleServer.start(await freePort(), api.baseUrl, { CONSOLE_TRUST_PROXY: PROXY });
  });
  afterAll(async () => {
    await web?.stop();
    await api?.stop();
  });

  it('passes on the client behind a trusted proxy (right-most untrusted hop), not the proxy', async () => {
    const email = uniqueEmail('nobody');
    expect((await login(PROXY, '203.0.113.9, 198.51.100.7', email)).status).toBe(401);
    expect(await lastFailureIp(email)).toBe('198.51.100.7');
  });

  it('ignores what a direct client claims', async () => {
    const email = uniqueEmail('nobody');
    expect((await login(DIRECT, '198.51.100.99', email)).status).toBe(401);
    expect(await lastFailureIp(email)).toBe(DIRECT);
  });

  it('two operators behind the proxy do not share a login rate-limit bucket', async () => {
    const email = uniqueEmail('nobody');
    for (let i = 0; i < 3; i++) expect((await login(PROXY, '198.51.100.30', email)).status).toBe(401);
    expect((await login(PROXY, '198.51.100.30', email)).status).toBe(429);
    expect((await login(PROXY, '198.51.100.31', email)).status).toBe(401);
  });

  it('refuses to start with a trust list it cannot parse', async () => {
    await expect(ConsoleServer.start(await freePort(), api.baseUrl, { CONSOLE_TRUST_PROXY: 'proxy.example' })).rejects.toThrow(
      /CONSOLE_TRUST_PROXY: not an address.*proxy\.example/,
    );
  });
});
