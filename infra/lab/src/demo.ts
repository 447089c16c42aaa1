// `npm run demo -- --devices N` / `npm run demo -- down` / `npm run demo -- status`: simulated light
// devices for the instance `npm start` runs (infra/scripts/start.sh). They enroll from claim codes
// through its API (as the bootstrap admin of .env.local, organization and site "Demo") and tunnel
// to its hub (API_WG_INTERFACE); each runs a little CPU load (demo-load.ts) so the charts move.
// What `down` needs is kept in var/demo/state.json.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLab } from './lab.js';
import { mapLimit } from './map-limit.js';
import { REPO_ROOT } from './names.js';
import { readState, releaseActive, removeState, stateIsLive } from './state.js';
import { findLeftovers, teardownState } from './sweep.js';

export interface DemoArgs {
  command: 'up' | 'down' | 'status';
  devices: number;
}

const USAGE = `usage: npm run demo -- [--devices N]   add N simulated devices (default 5, at most 50) to the running npm start
       npm run demo -- down             remove them (processes, namespaces, tunnels) and retire them in the API
       npm run demo -- status           what the demo runs`;

export function parseDemoArgs(argv: string[]): DemoArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { devices: { type: 'string', short: 'n' } },
    allowPositionals: true,
  });
  const command = positionals[0] ?? 'up';
  if (positionals.length > 1 || (command !== 'up' && command !== 'down' && command !== 'status'))
    throw new TypeError(`unknown command ${positionals.join(' ')}`);
  if (command !== 'up' && values.devices !== undefined) throw new TypeError(`--devices goes with up, not ${command}`);
  const devices = Number(values.devices ?? '5');
  if (!Number.isInteger(devices) || devices < 1 || devices > 50) throw new TypeError('--devices must be 1-50');
  return { command, devices };
}

/** KEY=VALUE lines of .env.local (as start.sh writes them; `export ` and simple quotes allowed). Never evaluated. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!.trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    env[m[1]!] = value;
  }
  return env;
}

interface DemoState {
  labId: string;
  apiUrl: string;
  organizationId: string;
  siteId: string;
  devices: { name: string; id: string; overlayAddress?: string }[];
}

const DEMO_DIR = join(REPO_ROOT, 'var/demo');
const STATE_FILE = join(DEMO_DIR, 'state.json');
const log = (line: string) => console.log(`demo: ${line}`);

async function loadEnv() {
  const env = parseEnvFile(await readFile(join(REPO_ROOT, '.env.local'), 'utf8').catch(() => ''));
  const need = (key: string) => {
    const value = env[key];
    if (!value) throw new Error(`${key} missing in .env.local: run npm start first`);
    return value;
  };
  const port = Number(need('API_PORT'));
  const host = env.API_HOST ?? '127.0.0.1';
  // Devices enroll on the lab's underlay (198.18.0.1) and then use 10.10.0.1: the API must listen there too.
  if (!['0.0.0.0', '::', '[::]'].includes(host))
    throw new Error(`API_HOST in .env.local is ${host}: devices reach the API only when it listens on all addresses (0.0.0.0)`);
  const agentUrl = new URL(need('API_AGENT_API_URL'));
  if (agentUrl.hostname !== '10.10.0.1') throw new Error(`API_AGENT_API_URL must point at the hub's 10.10.0.1, not ${agentUrl.hostname}`);
  return { port, hub: need('API_WG_INTERFACE'), email: need('API_BOOTSTRAP_ADMIN_EMAIL'), password: need('API_BOOTSTRAP_ADMIN_PASSWORD') };
}

/** The few operator calls the demo makes, as the bootstrap admin. */
class Operator {
  private token = '';
  constructor(readonly baseUrl: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.baseUrl}/${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }

  async must<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.call<T>(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
    return r.body;
  }

  async login(email: string, password: string): Promise<void> {
    const r = await this.must<{ accessToken?: string; mfaRequired?: boolean }>('POST', 'auth/login', { email, password });
    if (!r.accessToken) throw new Error(`${email} has two-factor login on: the demo needs the bootstrap admin's plain login`);
    this.token = r.accessToken;
  }

  /** Organization "Demo" (customer) and its site "Demo", created when missing. */
  async demoSite(): Promise<{ organizationId: string; siteId: string }> {
    type Page = { items: { id: string; name: string }[] };
    const orgs = await this.must<Page>('GET', 'organizations?q=Demo&limit=500');
    const organizationId =
      orgs.items.find((o) => o.name === 'Demo')?.id ??
      (await this.must<{ id: string }>('POST', 'organizations', { name: 'Demo', kind: 'customer' })).id;
    const sites = await this.must<Page>('GET', `sites?organizationId=${organizationId}&q=Demo&limit=500`);
    const siteId =
      sites.items.find((s) => s.name === 'Demo')?.id ??
      (await this.must<{ id: string }>('POST', 'sites', { organizationId, name: 'Demo', timeZone: 'UTC' })).id;
    return { organizationId, siteId };
  }
}

async function readDemoState(): Promise<DemoState | null> {
  try {
    return JSON.parse(await readFile(STATE_FILE, 'utf8')) as DemoState;
  } catch {
    return null;
  }
}

async function writeDemoState(state: DemoState): Promise<void> {
  await mkdir(DEMO_DIR, { recursive: true, mode: 0o700 });
  await writeFile(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

async function up(count: number): Promise<number> {
  if (await readDemoState()) throw new Error('a demo is running already (var/demo/state.json): npm run demo -- down first');
  const env = await loadEnv();
  const api = new Operator(`http://127.0.0.1:${env.port}/api/v1`);
  const ready = await fetch(`${api.baseUrl}/health/ready`, { signal: AbortSignal.timeout(5000) }).then(
    (r) => r.ok,
    () => false,
  );
  if (!ready) throw new Error(`no API answers on port ${env.port}: run npm start first`);
  await api.login(env.email, env.password);
  const site = await api.demoSite();

  const lab = await startLab({ existingHub: env.hub, apiPort: env.port, waitForOtherLabMs: 0, log });
  const state: DemoState = { labId: lab.id, apiUrl: api.baseUrl, ...site, devices: [] };
  await writeDemoState(state);
  try {
    await mapLimit(
      Array.from({ length: count }, (_, i) => i),
      5,
      async (i) => {
        const device = await lab.addLightDevice();
        const name = `demo-${lab.id}-${device.name}`;
        const created = await api.must<{ device: { id: string }; claimCode: { code: string } }>('POST', 'devices', {
          name,
          ...site,
          type: 'server',
        });
        const entry: DemoState['devices'][number] = { name, id: created.device.id };
        state.devices.push(entry);
        await writeDemoState(state);
        const result = await device.bootstrap(created.claimCode.code);
        if (result.exitCode !== 0)
          throw new Error(`${name}: enrollment failed (exit ${result.exitCode}): ${result.stderr.trim().slice(-1500)}`);
        if (result.overlayAddress) entry.overlayAddress = result.overlayAddress;
        await writeDemoState(state);
        // Each device its own swing (2-6 % up to 8-20 % of a core, periods of 1-3 minutes).
        await device.startProcess(
          process.execPath,
          [
            fileURLToPath(new URL('./demo-load.js', import.meta.url)),
            '--min',
            String(2 + (i % 3) * 2),
            '--max',
            String(8 + ((i * 5) % 13)),
            '--period',
            String(60 + ((i * 37) % 121)),
          ],
          'demo-load.log',
        );
        log(`${name}: enrolled as ${result.overlayAddress}, reporting every heartbeat`);
      },
    );
    await lab.detach();
  } catch (error) {
    log(`failed: ${(error as Error).message}; removing what was created`);
    await down().catch((e: Error) => log(e.message));
    return 1;
  }
  log(`${count} devices are up in organization "Demo" (console http://127.0.0.1:3001). Remove them with: npm run demo -- down`);
  return 0;
}

async function down(): Promise<number> {
  const state = await readDemoState();
  if (!state) {
    log('no demo running (var/demo/state.json is absent)');
    return 0;
  }
  const problems: string[] = [];
  const lab = await readState(state.labId);
  if (lab) {
    if (!lab.detached && (await stateIsLive(lab)) && lab.owner?.pid !== process.pid)
      throw new Error(`demo lab ${state.labId} is still being set up by pid ${lab.owner?.pid}`);
    log(`removing lab ${state.labId} (${lab.devices.length} devices)`);
    problems.push(...(await teardownState(lab, log)));
  }
  const left = await findLeftovers(state.labId);
  problems.push(...left.map((l) => `left: ${l}`));
  if (left.length === 0) {
    await removeState(state.labId);
    await releaseActive(state.labId);
  }
  try {
    const env = await loadEnv();
    const api = new Operator(state.apiUrl);
    await api.login(env.email, env.password);
    for (const device of state.devices) {
      const r = await api.call<{ code?: string }>('POST', `devices/${device.id}/retire`);
      // 404 / 409: gone or retired already.
      if (r.status >= 300 && r.status !== 404 && r.status !== 409)
        problems.push(`retire ${device.name}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      else log(`retired ${device.name} in the API`);
    }
  } catch (error) {
    problems.push(`retiring the devices in the API: ${(error as Error).message}`);
  }
  for (const problem of problems) log(problem);
  if (problems.length > 0) {
    log('not everything was removed; var/demo/state.json is kept, run npm run demo -- down again');
    return 1;
  }
  await rm(DEMO_DIR, { recursive: true, force: true });
  log('demo removed; nothing left behind');
  return 0;
}

async function status(): Promise<number> {
  const state = await readDemoState();
  if (!state) {
    log('no demo running');
    return 0;
  }
  const lab = await readState(state.labId);
  log(`lab ${state.labId}: ${lab && (await stateIsLive(lab)) ? 'live' : 'not live (npm run demo -- down removes it)'}`);
  for (const d of state.devices) console.log(`  ${d.name}  ${d.overlayAddress ?? '-'}  device ${d.id}`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(argv);
  } catch (error) {
    console.error(`demo: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    if (args.command === 'down') return await down();
    if (args.command === 'status') return await status();
    return await up(args.devices);
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2)).then((code) => process.exit(code));
