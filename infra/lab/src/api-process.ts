// Running the API as a process (api/dist/main.js) over a database of its own, configured for the
// lab's hub: `lab up` and tests that must kill it (see lab-api.ts). Other tests start the API
// in-process with TestApi.
import { join } from 'node:path';
import { must, sleep } from './exec.js';
import { REPO_ROOT } from './names.js';
import { isRunning, spawnDaemon, stopProcess, type ProcRef } from './processes.js';

export const DB_ADMIN_URL = process.env.LAB_DB_ADMIN_URL ?? process.env.TEST_DB_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.LAB_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function checkDatabaseName(name: string): string {
  if (!/^xspectre_lab_[0-9a-f]{6}$/.test(name)) throw new TypeError(`not a lab database name: ${name}`);
  return name;
}

/** `adminUrl`: the cluster that holds the lab's database (default DB_ADMIN_URL, the machine's). */
export function databaseUrl(name: string, adminUrl = DB_ADMIN_URL): string {
  const url = new URL(adminUrl);
  url.pathname = `/${checkDatabaseName(name)}`;
  return url.toString();
}

/**
 * In a test run, the run's migrated template database (api/test/support/template-database.ts)
 * when it lives in the same cluster: copying it is seconds faster than migrating an empty one.
 */
function testTemplateFor(adminUrl: string): string | undefined {
  const template = process.env.TEST_TEMPLATE_DB;
  if (!template || !/^xs_template_[0-9a-f]{12}$/.test(template)) return undefined;
  const testAdminUrl = process.env.TEST_DB_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  return new URL(adminUrl).host === new URL(testAdminUrl).host ? template : undefined;
}

export async function createDatabase(name: string, adminUrl = DB_ADMIN_URL): Promise<void> {
  const database = checkDatabaseName(name);
  const template = testTemplateFor(adminUrl);
  if (!template) {
    await must('psql', [adminUrl, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE "${database}"`]);
    return;
  }
  // A database's own ACL is not copied with its contents: the app role's CONNECT is granted again.
  await must('psql', [adminUrl, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE "${database}" TEMPLATE "${template}"`]);
  await must('psql', [adminUrl, '-v', 'ON_ERROR_STOP=1', '-qc', `GRANT CONNECT ON DATABASE "${database}" TO xspectre_api`]);
}

export async function dropDatabase(name: string, adminUrl = DB_ADMIN_URL): Promise<void> {
  await must('psql', [adminUrl, '-v', 'ON_ERROR_STOP=1', '-qc', `DROP DATABASE IF EXISTS "${checkDatabaseName(name)}" WITH (FORCE)`]);
}

/**
 * Migrates the database (unless `migrate` is false), starts `node api/dist/main.js` detached and
 * waits for /health/ready (60 s). `onSpawned` gets the process as soon as it exists.
 */
export async function startApiProcess(options: {
  labId: string;
  port: number;
  env: Record<string, string>;
  logFile: string;
  migrate?: boolean;
  onSpawned?: (pid: ProcRef) => Promise<void>;
}): Promise<ProcRef> {
  const main = join(REPO_ROOT, 'api/dist/main.js');
  const env = { ...process.env, ...options.env, XSPECTRE_LAB: options.labId };
  if (options.migrate ?? true)
    await must(process.execPath, [join(REPO_ROOT, 'api/dist/db/migrate.js')], { env, cwd: REPO_ROOT, timeoutMs: 120_000 });
  const pid = await spawnDaemon(process.execPath, [main], { logFile: options.logFile, env, cwd: REPO_ROOT });
  await options.onSpawned?.(pid);
  if (await waitForApiReady(options.port, pid, 60_000)) return pid;
  const exited = !(await isRunning(pid));
  await stopProcess(pid, 15_000);
  throw new Error(
    exited ? `the API exited during start-up (see ${options.logFile})` : `the API was not ready within 60 s (see ${options.logFile})`,
  );
}

/** Polls /health/ready on loopback until it answers 200; false after `timeoutMs` or when the process is gone. */
export async function waitForApiReady(port: number, pid: ProcRef, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/api/v1/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return true;
    if (!(await isRunning(pid)) || Date.now() > deadline) return false;
    await sleep(500);
  }
}

/** A minimal operator client for `lab up`: log in, create an organization, a site and devices. */
export class AdminClient {
  private token = '';
  constructor(private readonly baseUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}/${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  /** The bearer token of the last login (benchmarks call routes this client has no method for). */
  get accessToken(): string {
    return this.token;
  }

  async login(email: string, password: string): Promise<void> {
    this.token = (await this.call<{ accessToken: string }>('POST', 'auth/login', { email, password })).accessToken;
  }

  async createSite(name: string): Promise<{ organizationId: string; siteId: string }> {
    const org = await this.call<{ id: string }>('POST', 'organizations', { name, kind: 'customer' });
    const site = await this.call<{ id: string }>('POST', 'sites', { organizationId: org.id, name: 'Lab', timeZone: 'UTC' });
    return { organizationId: org.id, siteId: site.id };
  }

  async createDevice(name: string, where: { organizationId: string; siteId: string }): Promise<{ id: string; claimCode: string }> {
    const r = await this.call<{ device: { id: string }; claimCode: { code: string } }>('POST', 'devices', {
      name,
      ...where,
      type: 'server',
    });
    return { id: r.device.id, claimCode: r.claimCode.code };
  }
}
