// The lab's own API as a separate process (`node api/dist/main.js`) over a database of its own.
// It is recorded in the lab's state, so teardown (and the sweeper, after a crash) stops it and
// drops the database; resilience tests kill it (SIGKILL) and start it again on the same port.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AdminClient, createDatabase, databaseUrl, REDIS_URL, startApiProcess, waitForApiReady } from './api-process.js';
import { sleep } from './exec.js';
import { labNames, REPO_ROOT } from './names.js';
import { isRunning, spawnDaemon, stopProcess, type ProcRef } from './processes.js';
import type { ApiRecord, LabState } from './state.js';

export interface LabApiOptions {
  /** API settings merged over the lab's defaults (e.g. API_AGENT_HEARTBEAT_SECONDS). */
  env?: Record<string, string>;
  /**
   * Admin URL of the PostgreSQL cluster that gets the API's database (default the machine's,
   * LAB_DB_ADMIN_URL / TEST_DB_ADMIN_URL): fault-injection tests pass a cluster of their own,
   * which they may stop and start. The API connects as that URL's user (the owner).
   */
  databaseAdminUrl?: string;
}

/** What the API needs of its lab (the Lab class). */
export interface LabApiHost {
  readonly id: string;
  readonly apiPort: number;
  readonly state: LabState;
  save(): Promise<void>;
  apiEnv(): Record<string, string>;
}

export class LabApi {
  /** @internal use lab.startApi() */
  constructor(
    private readonly host: LabApiHost,
    private readonly env: Record<string, string>,
  ) {}

  private get record(): ApiRecord {
    const record = this.host.state.api;
    if (!record) throw new Error(`fleet lab ${this.host.id} has no API`);
    return record;
  }

  /** On loopback: http://127.0.0.1:PORT/api/v1. */
  get url(): string {
    return this.record.url;
  }

  get databaseUrl(): string {
    return databaseUrl(this.record.database, this.record.databaseAdminUrl);
  }

  get logFile(): string {
    return this.record.logFile;
  }

  get adminEmail(): string {
    return this.record.adminEmail;
  }

  get pid(): number {
    return this.record.pid.pid;
  }

  isRunning(): Promise<boolean> {
    return isRunning(this.record.pid);
  }

  /** An operator client logged in as the bootstrap admin. */
  async admin(): Promise<AdminClient> {
    const client = new AdminClient(this.url);
    await client.login(this.record.adminEmail, this.record.adminPassword);
    return client;
  }

  /** SIGKILL, no graceful shutdown (a crash); resolves once the process is gone. */
  async kill(): Promise<void> {
    const ref = this.record.pid;
    if (!(await isRunning(ref))) return;
    process.kill(ref.pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (await isRunning(ref)) {
      if (Date.now() > deadline) throw new Error(`the API (pid ${ref.pid}) did not exit after SIGKILL`);
      await sleep(50);
    }
  }

  /** SIGTERM (graceful), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    await stopProcess(this.record.pid, graceMs);
  }

  /** Starts the API again (same database, secret and port) and waits until it is ready. Throws if it still runs. */
  async start(): Promise<void> {
    if (await this.isRunning()) throw new Error(`the API (pid ${this.pid}) is still running`);
    await this.spawn(false);
  }

  /** Readiness (/health/ready: PostgreSQL and Redis answer) within `timeoutMs`. */
  isReady(timeoutMs = 2000): Promise<boolean> {
    return fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(timeoutMs) }).then(
      (r) => r.ok,
      () => false,
    );
  }

  /** Polls readiness until `timeoutMs`; false if the API did not become ready (or exited). */
  waitForReady(timeoutMs: number): Promise<boolean> {
    return waitForApiReady(this.host.apiPort, this.record.pid, timeoutMs);
  }

  /** The worker process (maintenance jobs: offline detection, command expiry) beside the API, if it runs. */
  get workerPid(): number | undefined {
    return this.host.state.worker?.pid;
  }

  /** @internal starts `node api/dist/worker.js` with the API's settings (log: worker.log beside api.log). */
  async startWorker(): Promise<void> {
    const env = { ...process.env, ...this.env, XSPECTRE_LAB: this.host.id };
    this.host.state.worker = await spawnDaemon(process.execPath, [join(REPO_ROOT, 'api/dist/worker.js')], {
      logFile: join(labNames(this.host.id).dir, 'worker.log'),
      env,
      cwd: REPO_ROOT,
    });
    await this.host.save();
  }

  /** @internal */
  async spawn(migrate: boolean): Promise<void> {
    const record = this.record;
    record.pid = await startApiProcess({
      labId: this.host.id,
      port: this.host.apiPort,
      logFile: record.logFile,
      env: this.env,
      migrate,
      // Recorded the moment it exists: a failed start-up is still stopped by teardown.
      onSpawned: async (pid: ProcRef) => {
        record.pid = pid;
        await this.host.save();
      },
    });
    await this.host.save();
  }
}

/**
 * Creates the lab's database (`xspectre_lab_ID`), migrates it and starts the API on the lab's
 * port on all addresses, with a generated secret and admin password and its own Redis prefix.
 */
export async function startLabApi(host: LabApiHost, options: LabApiOptions = {}): Promise<LabApi> {
  if (host.state.api) throw new Error(`fleet lab ${host.id} already has an API`);
  const names = labNames(host.id);
  const adminEmail = 'admin@lab.local';
  const adminPassword = randomBytes(12).toString('base64url');
  // Recorded before the database exists: a crash from here on leaves nothing teardown does not know.
  host.state.api = {
    pid: { pid: 0, startTime: '' },
    database: names.database,
    databaseAdminUrl: options.databaseAdminUrl,
    url: `http://127.0.0.1:${host.apiPort}/api/v1`,
    adminEmail,
    adminPassword,
    logFile: join(names.dir, 'api.log'),
  };
  await host.save();
  await createDatabase(names.database, options.databaseAdminUrl);
  const api = new LabApi(host, {
    NODE_ENV: 'production',
    DB_URL: databaseUrl(names.database, options.databaseAdminUrl),
    // Migrations too: an owner URL inherited from the caller's environment would name another cluster.
    DB_OWNER_URL: databaseUrl(names.database, options.databaseAdminUrl),
    REDIS_URL,
    REDIS_KEY_PREFIX: `xs-lab-${host.id}:`,
    API_SECRET_KEY: randomBytes(48).toString('base64'),
    API_HOST: '0.0.0.0',
    API_PORT: String(host.apiPort),
    API_PUBLIC_URL: `http://127.0.0.1:${host.apiPort}`,
    API_COOKIE_SECURE: 'false',
    API_BOOTSTRAP_ADMIN_EMAIL: adminEmail,
    API_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
    API_WG_RECONCILE_SECONDS: '10',
    ...host.apiEnv(),
    ...options.env,
  });
  await api.spawn(true);
  await api.startWorker();
  return api;
}
