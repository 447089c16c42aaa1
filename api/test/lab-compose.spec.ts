import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab, type LightDevice } from '@xspectre/lab';
import { COMPOSE_DOCKER_HOST, DOCKER_CLI, startComposeEngine, type ComposeEngine } from './support/compose-engine.js';
import { sharedReleaseTree } from './support/release-tree.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const COMPOSE_FILE = join(REPO, 'infra/compose/compose.yaml');
const AGENT_MAIN = join(REPO, 'agent/dist/main.js');
const AGENT_NODE_FLAGS = JSON.parse(await readFile(join(REPO, 'agent/node-flags.json'), 'utf8')) as string[];
/** The lab's underlay address of the host: where devices reach the proxy. */
const HOST = '198.18.0.1';
const NET_PREFIX = '172.30.47';
/**
 * The lab's hub (wireguard-go started by root) stands in for the compose file's `hub` service, as
 * only one 10.10.0.1 may exist on the machine; its control socket is root's (wireguard-go stops
 * when the socket's owner changes), so here the API container runs as root to reach it.
 */
const OVERRIDE = `services:\n  api:\n    user: '0'\n`;

interface Answer {
  status: number;
  body: string;
  exitCode: number;
}

/**
 * The Compose deployment (infra/compose) on this machine: images built by infra/containers/build.sh
 * from a release tree, the stack brought up with docker-compose in an engine of the spec's own,
 * the API driving the fleet lab's hub. A light device enrolls through the proxy over HTTPS with the
 * pinned key; the console and the non-public API answer only the allow-listed device; nothing is
 * served over plain HTTP and nothing but the proxy is reachable.
 */
describe('the Compose deployment behind its TLS proxy', () => {
  let engine: ComposeEngine | undefined;
  let lab: Lab | undefined;
  let dir: string;
  let project: string;
  let composeEnv: Record<string, string>;
  let outsider: LightDevice;
  let operator: LightDevice;
  let httpsPort: number;
  let httpPort: number;
  let caFile: string;
  let pin: string;
  let adminPassword: string;
  let token: string;

  const docker = (args: string[], timeout = 120_000) => execa(DOCKER_CLI, ['-H', COMPOSE_DOCKER_HOST, ...args], { reject: false, timeout });
  const compose = (args: string[], timeout = 10 * 60_000) =>
    execa('docker-compose', ['-p', project, '-f', COMPOSE_FILE, '-f', join(dir, 'override.yaml'), ...args], {
      env: composeEnv,
      reject: false,
      timeout,
      all: true,
    });

  /** curl from a device's namespace, trusting only the deployment's CA (or pinning its key). */
  const curl = async (device: LightDevice, method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
    const args = ['-sS', '--max-time', '20', '--cacert', caFile, '-X', method, '-o', '-', '-w', '\n%{http_code}'];
    if (options.token) args.push('-H', `authorization: Bearer ${options.token}`);
    if (options.body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(options.body));
    const r = await device.exec('curl', [...args, `https://${HOST}:${httpsPort}${path}`], { timeoutMs: 30_000 });
    const cut = r.stdout.lastIndexOf('\n');
    return { exitCode: r.exitCode, status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) } satisfies Answer;
  };

  beforeAll(async () => {
    const started = Date.now();
    const log = (line: string) => console.log(`compose: ${line} (+${((Date.now() - started) / 1000).toFixed(0)} s)`);
    dir = await mkdtemp(join(tmpdir(), 'xs-compose-'));

    // The release tree and the images (the engine's data root keeps them: later runs reuse layers).
    const release = await sharedReleaseTree(log);
    engine = await startComposeEngine();
    log(`engine ${engine.pid === null ? 'already running' : `started (pid ${engine.pid})`}; building images`);
    const images = await execa(
      'bash',
      [join(REPO, 'infra/containers/build.sh'), '--release', release, '--only', 'postgres,redis,proxy,api,console'],
      {
        env: { DOCKER_HOST: COMPOSE_DOCKER_HOST },
        reject: false,
        all: true,
        timeout: 30 * 60_000,
      },
    );
    expect(images.exitCode, images.all?.slice(-3000)).toBe(0);
    // The engine is the spec's own: the layers of earlier builds that no tag holds are garbage.
    await docker(['image', 'prune', '--force']);
    console.log(
      images.stdout
        .split('\n')
        .filter((l) => /^ {4}xspectre\//.test(l))
        .join('\n'),
    );

    lab = await startLab({ log: (line) => log(`lab: ${line}`) });
    outsider = await lab.addLightDevice();
    operator = await lab.addLightDevice();
    project = `xsc${lab.id}`;
    [httpsPort, httpPort] = [40_000 + (parseInt(lab.id, 16) % 10_000), 50_000 + (parseInt(lab.id, 16) % 10_000)];
    adminPassword = randomBytes(18).toString('hex');
    const secret = () => randomBytes(24).toString('hex');
    const apiEnv = lab.apiEnv();
    const settings: Record<string, string> = {
      XSPECTRE_DB_OWNER_PASSWORD: secret(),
      XSPECTRE_DB_API_PASSWORD: secret(),
      REDIS_PASSWORD: secret(),
      API_SECRET_KEY: randomBytes(48).toString('base64'),
      API_BOOTSTRAP_ADMIN_EMAIL: 'admin@compose.test',
      API_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
      API_HOST: '10.10.0.1',
      API_PORT: String(lab.apiPort),
      API_PUBLIC_URL: `https://${HOST}:${httpsPort}`,
      API_CONSOLE_URL: `https://${HOST}:${httpsPort}`,
      API_AGENT_API_URL: apiEnv.API_AGENT_API_URL!,
      API_WG_INTERFACE: apiEnv.API_WG_INTERFACE!,
      API_WG_ENDPOINT: apiEnv.API_WG_ENDPOINT!,
      API_URL: `http://10.10.0.1:${lab.apiPort}`,
      PROXY_HOSTNAME: HOST,
      PROXY_ALLOW_LIST: `${operator.underlayAddress}/32`,
      PROXY_HTTPS_PORT: String(httpsPort),
      PROXY_HTTP_PORT: String(httpPort),
      PROXY_HTTP: 'refuse',
    };
    await writeFile(join(dir, 'override.yaml'), OVERRIDE);
    const envFile = join(dir, 'xspectre.env');
    await writeFile(
      envFile,
      Object.entries(settings)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
      { mode: 0o600 },
    );
    composeEnv = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      DOCKER_HOST: COMPOSE_DOCKER_HOST,
      XSPECTRE_ENV_FILE: envFile,
      XSPECTRE_NET_PREFIX: NET_PREFIX,
      XSPECTRE_WG_SOCKETS: '/run/wireguard',
      XSPECTRE_API_TRUST_PROXY: `10.10.0.1,${NET_PREFIX}.13`,
    };

    log('docker-compose up');
    const up = await compose(['up', '-d']);
    expect(up.exitCode, up.all).toBe(0);
    // Up returns once the one-shots finished and postgres/redis are healthy; then the rest.
    const deadline = Date.now() + 5 * 60_000;
    for (;;) {
      const states = await serviceStates();
      if (['api', 'console', 'proxy'].every((s) => states[s] === 'healthy') && states.worker === 'running') break;
      if (Date.now() > deadline)
        throw new Error(`the stack did not become healthy: ${JSON.stringify(states)}\n${(await compose(['logs', '--tail', '30'])).all}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    log('stack healthy');
    const volume = (await docker(['volume', 'inspect', '--format', '{{.Mountpoint}}', `${project}_proxy-config`])).stdout.trim();
    caFile = join(dir, 'ca.crt');
    await writeFile(caFile, await readFile(join(volume, 'tls/ca.crt')));
    pin = (await readFile(join(volume, 'pin'), 'utf8')).trim();
  }, 60 * 60_000);

  /** Compose service → health (or state when it has no health check). */
  async function serviceStates(): Promise<Record<string, string>> {
    const out = await docker([
      'ps',
      '--all',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--format',
      '{{.Label "com.docker.compose.service"}}\t{{.ID}}',
    ]);
    const states: Record<string, string> = {};
    for (const line of out.stdout.split('\n').filter(Boolean)) {
      const [service, id] = line.split('\t');
      const inspected = await docker([
        'inspect',
        '--format',
        '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}} {{.State.ExitCode}}',
        id!,
      ]);
      const [status, health, exitCode] = inspected.stdout.trim().split(' ');
      states[service!] = status === 'exited' ? `exited ${exitCode ?? ''}`.trim() : health || status!;
    }
    return states;
  }

  afterAll(async () => {
    if (project && composeEnv) {
      const down = await compose(['down', '--volumes', '--remove-orphans']);
      if (down.exitCode !== 0) console.log(`compose down failed: ${down.all}`);
    }
    await lab?.teardown();
    await engine?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 5 * 60_000);

  it('runs every service, the one-shots finished, and publishes no container port', async () => {
    const states = await serviceStates();
    expect(states).toMatchObject({
      postgres: 'healthy',
      redis: 'healthy',
      migrate: 'exited 0',
      'proxy-setup': 'exited 0',
      api: 'healthy',
      worker: 'running',
      console: 'healthy',
      proxy: 'healthy',
    });
    const ports = await docker(['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Ports}}']);
    expect(ports.stdout).not.toContain('->');
    expect(pin).toMatch(/^sha256\/\/[A-Za-z0-9+/]{43}=$/);
  });

  it('answers the console and the API only from the allow-list', async () => {
    const login = await curl(operator, 'POST', '/api/v1/auth/login', { body: { email: 'admin@compose.test', password: adminPassword } });
    expect(login.status, login.body).toBe(200);
    token = (JSON.parse(login.body) as { accessToken: string }).accessToken;
    expect((await curl(operator, 'GET', '/api/v1/devices', { token })).status).toBe(200);
    const page = await curl(operator, 'GET', '/sign-in');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<html');

    for (const [method, path] of [
      ['GET', '/api/v1/devices'],
      ['POST', '/api/v1/auth/login'],
      ['GET', '/'],
      ['GET', '/sign-in'],
    ] as const) {
      const refused = await curl(outsider, method, path, method === 'POST' ? { body: {} } : {});
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ status: 403, title: 'Forbidden' });
    }
    // The public surface answers anyone.
    const script = await curl(outsider, 'GET', '/api/v1/agent/bootstrap.sh');
    expect(script.status).toBe(200);
    expect(script.body).toBe(await readFile(join(REPO, 'agent/bootstrap.sh'), 'utf8'));
  });

  it('enrolls a lab device through the proxy over HTTPS with the pinned key', async () => {
    const org = JSON.parse(
      (await curl(operator, 'POST', '/api/v1/organizations', { token, body: { name: 'Compose Corp', kind: 'customer' } })).body,
    );
    const site = JSON.parse(
      (await curl(operator, 'POST', '/api/v1/sites', { token, body: { organizationId: org.id, name: 'Main', timeZone: 'UTC' } })).body,
    );
    const created = await curl(operator, 'POST', '/api/v1/devices', {
      token,
      body: { name: 'compose-1', organizationId: org.id, siteId: site.id, type: 'server' },
    });
    expect(created.status, created.body).toBe(201);
    const { device, claimCode } = JSON.parse(created.body) as {
      device: { id: string };
      claimCode: { code: string; bootstrapCommand: string };
    };
    const api1 = `https://${HOST}:${httpsPort}/api/v1`;
    // The console's one-liner pins the deployment's own key (read by the API from the setup step).
    expect(claimCode.bootstrapCommand).toContain(`--pinnedpubkey '${pin}' ${api1}/agent/bootstrap.sh`);
    expect(claimCode.bootstrapCommand).toContain(`--api ${api1} --pin '${pin}'`);

    // The agent on the outsider device (not allow-listed: enrollment is public), pinning the key.
    const keys = join(dir, 'device');
    await execa('mkdir', ['-p', keys]);
    const wgKey = (await execa('wg', ['genkey'])).stdout.trim();
    await writeFile(join(keys, 'wg.key'), `${wgKey}\n`, { mode: 0o600 });
    const wgPublic = (await execa('wg', ['pubkey'], { input: wgKey })).stdout.trim();
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'ssh_host_ed25519_key')]);
    const enrollArgs = (pinArg: string) => [
      ...AGENT_NODE_FLAGS,
      AGENT_MAIN,
      'enroll',
      '--claim',
      claimCode.code,
      '--api',
      api1,
      '--pin',
      pinArg,
      '--wg-private-key-file',
      join(keys, 'wg.key'),
      '--ssh-host-key-file',
      join(keys, 'ssh_host_ed25519_key.pub'),
      '--wg-config-out',
      join(keys, 'wg0.conf'),
      '--config',
      join(keys, 'agent.conf'),
      '--state-dir',
      join(keys, 'state'),
    ];
    // A wrong pin sends nothing: the claim code stays unused.
    const wrong = await outsider.exec(process.execPath, enrollArgs(`sha256//${'A'.repeat(43)}=`), { timeoutMs: 60_000 });
    expect(wrong.exitCode).not.toBe(0);
    const enrolled = await outsider.exec(process.execPath, enrollArgs(pin), { timeoutMs: 60_000 });
    expect(enrolled.exitCode, `${enrolled.stdout}\n${enrolled.stderr}`).toBe(0);
    expect(await readFile(join(keys, 'wg0.conf'), 'utf8')).toMatch(/^Address\s*=\s*10\.10\.0\.\d+\/\d+/m);
    expect((await stat(join(keys, 'agent.conf'))).isFile()).toBe(true);

    // The containerised API put the device on the host's hub and lists it.
    const deadline = Date.now() + 30_000;
    let peers = '';
    while (!peers.includes(wgPublic) && Date.now() < deadline) {
      peers = (await execa('wg', ['show', lab!.hub.interfaceName, 'peers'])).stdout;
      if (!peers.includes(wgPublic)) await new Promise((r) => setTimeout(r, 500));
    }
    expect(peers).toContain(wgPublic);
    const listed = await curl(operator, 'GET', `/api/v1/devices?siteId=${site.id}&limit=10`, { token });
    expect(listed.status).toBe(200);
    const view = (JSON.parse(listed.body) as { items: Array<{ id: string }> }).items.find((d) => d.id === device.id);
    expect(view).toMatchObject({ status: 'active' });
  });

  it('serves nothing over plain HTTP and exposes neither the API nor the console on the underlay', async () => {
    // No listener on the HTTP port (PROXY_HTTP=refuse): curl exit 7, connection refused.
    const plain = await outsider.exec('curl', ['-sS', '--max-time', '10', `http://${HOST}:${httpPort}/api/v1/agent/bootstrap.sh`]);
    expect(plain.exitCode).toBe(7);
    // Plain HTTP to the TLS port gets Caddy's 400, never content.
    const mixed = await outsider.exec('curl', [
      '-sS',
      '--max-time',
      '10',
      '-w',
      '\n%{http_code}',
      `http://${HOST}:${httpsPort}/api/v1/agent/bootstrap.sh`,
    ]);
    expect(mixed.stdout.trim().split('\n').at(-1)).toBe('400');
    expect(mixed.stdout).not.toContain('#!/usr/bin/env bash');
    // The API listens on the overlay address only; the console is on the internal network only.
    for (const target of [`http://${HOST}:${lab!.apiPort}/api/v1/health/live`, `http://${HOST}:3001/`, `http://${NET_PREFIX}.13:3001/`]) {
      const direct = await outsider.exec('curl', ['-sS', '--max-time', '5', '-o', '/dev/null', target]);
      expect(direct.exitCode, target).not.toBe(0);
    }
  });
});
