import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http, { createServer, type Server } from 'node:http';
import https from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateCa } from '../../infra/proxy/src/private-ca.mjs';
import { TestApi } from './support/harness.js';
import { startTestCaddy, type TestCaddy } from './support/test-caddy.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BOOTSTRAP = join(REPO, 'agent/bootstrap.sh');
/** Two loopback sources: the operator network (allow-listed) and anyone else on the Internet. */
const OPERATOR = '127.0.0.2';
const OUTSIDER = '127.0.0.1';
const WRONG_PIN = `sha256//${'A'.repeat(43)}=`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * A command's result without blocking: the API answers from this very process, so a spawnSync
 * that reaches it through the proxy would wait for itself.
 */
function run(file: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/**
 * The real proxy (Caddy from Debian, the Caddyfile infra/proxy/render.mjs writes, the private CA
 * infra/proxy/private-ca.mjs makes) in front of the real API; the console is a stand-in that
 * echoes what reached it. The rules of infra/proxy/README.md, from both sides of the allow-list.
 */
describe('the public surface behind the TLS proxy', () => {
  let dir: string;
  let api: TestApi;
  let consoleStandIn: Server;
  let caddy: TestCaddy | undefined;
  let httpsPort: number;
  let httpPort: number;
  let ca: Buffer;
  let pin: string;
  let publicUrl: string;

  /** One HTTPS request from `from`, trusting only the private CA. */
  const request = (from: string, method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    new Promise<Answer>((done, fail) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: httpsPort,
          servername: 'ops.test',
          localAddress: from,
          ca,
          method,
          path,
          headers: { host: 'ops.test', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', fail);
        },
      );
      req.on('error', fail);
      req.end(body);
    });

  const handshake = (version: tls.SecureVersion) =>
    new Promise<string>((done, fail) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: httpsPort,
        servername: 'ops.test',
        ca,
        minVersion: version,
        maxVersion: version,
      });
      socket.once('secureConnect', () => {
        const protocol = socket.getProtocol() ?? '';
        socket.end();
        done(protocol);
      });
      socket.once('error', fail);
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-public-surface-'));
    const certs = await generatePrivateCa({ dir: join(dir, 'tls'), names: ['ops.test', '127.0.0.1'] });
    ca = await readFile(certs.files.caCert);
    pin = certs.pin;
    [httpsPort, httpPort] = [await freePort(), await freePort()];
    publicUrl = `https://127.0.0.1:${httpsPort}`;

    // What bootstrap.sh downloads, served by the API from a dist folder as in production.
    const dist = join(dir, 'dist');
    await mkdir(dist);
    await copyFile(BOOTSTRAP, join(dist, 'bootstrap.sh'));
    const agent = '#!/bin/sh\necho "xspectre-agent 0.0.0-test"\n';
    await writeFile(join(dist, 'xspectre-agent'), agent, { mode: 0o755 });
    await writeFile(join(dist, 'xspectre-agent.sha256'), `${createHash('sha256').update(agent).digest('hex')}  xspectre-agent\n`);

    api = await TestApi.start({
      API_PUBLIC_URL: publicUrl,
      API_BOOTSTRAP_PIN: pin,
      API_AGENT_DIST_DIR: dist,
      // The proxy connects from 127.0.0.1: only it may speak for clients (X-Forwarded-For).
      API_TRUST_PROXY: '127.0.0.1',
    });
    consoleStandIn = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-powered-by', 'Next.js');
      res.end(JSON.stringify({ console: true, url: req.url, xff: req.headers['x-forwarded-for'] ?? null }));
    });
    await new Promise<void>((done) => consoleStandIn.listen(0, '127.0.0.1', done));

    const settings = {
      hostname: 'ops.test',
      tls: { mode: 'private-ca', certFile: certs.files.serverCert, keyFile: certs.files.serverKey },
      httpsPort,
      httpPort,
      http: 'redirect',
      bind: ['127.0.0.1'],
      allowList: [`${OPERATOR}/32`],
      upstreams: {
        api: new URL(api.baseUrl).host,
        console: `127.0.0.1:${(consoleStandIn.address() as AddressInfo).port}`,
      },
    };
    caddy = await startTestCaddy(dir, settings, () => handshake('TLSv1.3'));
  });

  afterAll(async () => {
    await caddy?.stop();
    await new Promise<void>((done) => (consoleStandIn ? consoleStandIn.close(() => done()) : done()));
    await api?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('speaks TLS 1.3 only: a TLS 1.2 client is refused', async () => {
    expect(await handshake('TLSv1.3')).toBe('TLSv1.3');
    await expect(handshake('TLSv1.2')).rejects.toThrow(/protocol version|alert/i);
  });

  it('sends HSTS and no Server header, on answers and on the refusals', async () => {
    for (const [from, path] of [
      [OUTSIDER, '/api/v1/agent/bootstrap.sh'],
      [OUTSIDER, '/api/v1/devices'],
      [OPERATOR, '/'],
    ] as const) {
      const answer = await request(from, 'GET', path);
      expect(answer.headers['strict-transport-security'], path).toBe('max-age=31536000');
      expect(answer.headers.server, path).toBeUndefined();
      expect(answer.headers['x-powered-by'], path).toBeUndefined();
    }
  });

  it('lets anyone enroll and fetch bootstrap.sh and the agent downloads', async () => {
    const script = await request(OUTSIDER, 'GET', '/api/v1/agent/bootstrap.sh');
    expect(script.status).toBe(200);
    expect(script.text).toBe(await readFile(BOOTSTRAP, 'utf8'));
    const sum = await request(OUTSIDER, 'GET', '/api/v1/agent/download/xspectre-agent.sha256');
    expect(sum.status).toBe(200);
    expect(sum.text).toMatch(/^[0-9a-f]{64} {2}xspectre-agent\n$/);
    // The API answers (a validation problem), not the proxy's 403.
    const enroll = await request(OUTSIDER, 'POST', '/api/v1/enroll', {}, JSON.stringify({ claimCode: 'nope' }));
    expect(enroll.status).toBe(400);
    expect(enroll.headers['content-type']).toContain('application/problem+json');
  });

  it('answers 403 outside the allow-list for the console, the rest of the API and WebSockets', async () => {
    const refusals = [
      ['GET', '/api/v1/devices'],
      ['GET', '/'],
      ['GET', '/enroll'],
      ['POST', '/api/v1/auth/login'],
      // The public routes are exact: another method, or a path that only starts like one.
      ['POST', '/api/v1/agent/bootstrap.sh'],
      ['GET', '/api/v1/enroll'],
      ['GET', '/api/v1/agent/ssh-setup'],
      ['GET', '/api/v1/agent/bootstrap.sh.bak'],
    ];
    for (const [method, path] of refusals) {
      const answer = await request(OUTSIDER, method!, path!);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(answer.text)).toMatchObject({ status: 403, title: 'Forbidden' });
    }
    const upgrade = await request(OUTSIDER, 'GET', '/api/v1/live', { connection: 'Upgrade', upgrade: 'websocket' });
    expect(upgrade.status).toBe(403);
    // Dot segments and encoded slashes do not climb out of the download folder to the API.
    for (const path of ['/api/v1/agent/download/../../devices', '/api/v1/agent/download/..%2f..%2fdevices']) {
      const answer = await request(OUTSIDER, 'GET', path);
      expect([200, 401], path).not.toContain(answer.status);
    }
  });

  it('passes the allow-listed network through to the API and the console, with its address forwarded', async () => {
    const anonymous = await request(OPERATOR, 'GET', '/api/v1/devices');
    expect(anonymous.status).toBe(401);
    const token = await api.adminToken();
    const devices = await request(OPERATOR, 'GET', '/api/v1/devices', { authorization: `Bearer ${token}` });
    expect(devices.status).toBe(200);
    // The console stand-in saw the request and the operator's address (Caddy's X-Forwarded-For).
    const page = await request(OPERATOR, 'GET', '/devices', { 'x-forwarded-for': '203.0.113.9' });
    expect(page.status).toBe(200);
    expect(JSON.parse(page.text)).toMatchObject({ console: true, url: '/devices' });
    // Caddy drops what an untrusted client wrote and forwards the TCP peer.
    expect(JSON.parse(page.text).xff).toBe(OPERATOR);
    // The API records the operator's address, not what the client wrote in X-Forwarded-For.
    const email = `nobody-${Date.now()}@test.local`;
    const login = await request(
      OPERATOR,
      'POST',
      '/api/v1/auth/login',
      { 'x-forwarded-for': '203.0.113.9' },
      JSON.stringify({ email, password: 'wrong password 1' }),
    );
    expect(login.status).toBe(401);
    const rows = await api.auditRows(`action = 'auth.login' AND result = 'failure' AND user_email = $1`, [email]);
    expect(rows.at(-1)?.source_ip).toBe(OPERATOR);
  });

  it('redirects plain HTTP to the https name, without a Server header', async () => {
    const answer = await new Promise<{ status: number; headers: Record<string, unknown> }>((done, fail) => {
      const req = http.request({ host: '127.0.0.1', port: httpPort, path: '/api/v1/devices?x=1', localAddress: OUTSIDER }, (res) => {
        res.resume();
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers }));
      });
      req.on('error', fail);
      req.end();
    });
    expect(answer.status).toBe(308);
    expect(answer.headers.location).toBe(`https://ops.test:${httpsPort}/api/v1/devices?x=1`);
    expect(answer.headers.server).toBeUndefined();
  });

  it("the console's one-liner fetches bootstrap.sh over the pinned key; a wrong pin fails", async () => {
    const token = await api.adminToken();
    const org = await api.request('POST', 'organizations', { token, body: { name: 'Pinned Corp', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token, body: { organizationId: org.body.id, name: 'Main', timeZone: 'UTC' } });
    const created = await api.request('POST', 'devices', {
      token,
      body: { name: 'pinned-1', organizationId: org.body.id, siteId: site.body.id, type: 'server' },
    });
    expect(created.status).toBe(201);
    const line: string = created.body.claimCode.bootstrapCommand;
    const api1 = `${publicUrl}/api/v1`;
    expect(line).toBe(
      `curl -fsSL --insecure --pinnedpubkey '${pin}' ${api1}/agent/bootstrap.sh | sudo bash -s -- --claim ${created.body.claimCode.code} --api ${api1} --pin '${pin}'`,
    );
    // The curl half of the line, as a technician's shell runs it (the device side is the lab's).
    const fetchPart = line.split(' | ')[0]!;
    const fetched = await run('bash', ['-c', fetchPart]);
    expect(fetched.stderr).toBe('');
    expect(fetched.stdout).toBe(await readFile(BOOTSTRAP, 'utf8'));
    const wrong = await run('bash', ['-c', fetchPart.replace(pin, WRONG_PIN)]);
    expect(wrong.status).toBe(90); // CURLE_SSL_PINNEDPUBKEYNOTMATCH
    expect(wrong.stdout).toBe('');
    // Without the pin the private CA is unknown: curl refuses (60), the line is not "insecure".
    const unpinned = await run('curl', ['-fsSL', `${api1}/agent/bootstrap.sh`]);
    expect(unpinned.status).toBe(60);
  });

  it("bootstrap.sh's own downloads carry the pin; a wrong pin fails", async () => {
    const download = (pinArg: string) =>
      run('bash', [
        '--norc',
        '-c',
        'source "$1"; parse_args --claim X --api "$2" --pin "$3"; curl -fsS "${CURL_TLS[@]}" "$API/agent/download/xspectre-agent.sha256"',
        '_',
        BOOTSTRAP,
        `${publicUrl}/api/v1`,
        pinArg,
      ]);
    const good = await download(pin);
    expect(good.stderr).toBe('');
    expect(good.stdout).toMatch(/^[0-9a-f]{64} {2}xspectre-agent\n$/);
    expect((await download(WRONG_PIN)).status).toBe(90);
  });

  it('bootstrap.sh refuses a plain-HTTP API without --insecure-http and says why', () => {
    const run = spawnSync('bash', [BOOTSTRAP, '--claim', 'ABCD-EFGH-JKLM-NPQR-STUV', '--api', `${api.baseUrl}/api/v1`], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('is plain HTTP: the claim code and the agent would cross the network in clear');
  });
});
