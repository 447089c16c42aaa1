import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idpRequest, insecureUrlReason } from './idp-http.js';

describe('insecureUrlReason', () => {
  it('allows https anywhere and plain http on loopback only', () => {
    expect(insecureUrlReason('https://login.example.com/x')).toBeNull();
    expect(insecureUrlReason('http://127.0.0.1:8080/x')).toBeNull();
    expect(insecureUrlReason('http://localhost/x')).toBeNull();
    expect(insecureUrlReason('http://[::1]:9/x')).toBeNull();
    expect(insecureUrlReason('http://login.example.com/x')).toBe('plain http is refused for login.example.com: use https');
    expect(insecureUrlReason('http://127.0.0.1.nip.io/x')).toMatch(/plain http is refused/);
    expect(insecureUrlReason('http://10.0.0.1/x')).toMatch(/plain http is refused/);
    expect(insecureUrlReason('file:///etc/passwd')).toMatch(/file: URLs are not fetched/);
    expect(insecureUrlReason('not a url')).toMatch(/is not a URL/);
  });
});

describe('idpRequest', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ method: string; url: string; auth?: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
      if (req.url === '/loop') return res.writeHead(302, { location: '/loop' }).end();
      if (req.url === '/to-plain') return res.writeHead(302, { location: 'http://idp.example.com/metadata' }).end();
      if (req.url === '/moved') return res.writeHead(307, { location: '/final' }).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`at ${req.url}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (path: string) => idpRequest({ url: `${base}${path}`, timeoutMs: 2000, maxBytes: 1024 });

  it('follows a GET redirect on loopback, checking every target', async () => {
    await expect(get('/moved')).resolves.toMatchObject({ status: 200, body: 'at /final' });
    await expect(get('/to-plain')).rejects.toThrow('redirected to http://idp.example.com/metadata: plain http is refused');
    await expect(get('/loop')).rejects.toThrow('more than 3 redirects');
  });

  it('never re-sends a POST elsewhere: the redirect itself is the answer', async () => {
    seen.length = 0;
    const answer = await idpRequest({
      url: `${base}/moved`,
      method: 'POST',
      form: { code: 'x' },
      headers: { authorization: 'Basic eDp5' },
      timeoutMs: 2000,
      maxBytes: 1024,
    });
    expect(answer.status).toBe(307);
    expect(seen).toEqual([{ method: 'POST', url: '/moved', auth: 'Basic eDp5' }]);
  });

  it('refuses plain http off loopback before connecting', async () => {
    await expect(idpRequest({ url: 'http://idp.example.com/metadata', timeoutMs: 2000, maxBytes: 1024 })).rejects.toThrow(
      /plain http is refused/,
    );
  });
});
