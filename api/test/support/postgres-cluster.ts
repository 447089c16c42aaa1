import { execa } from 'execa';
import pg from 'pg';

/**
 * The machine's own PostgreSQL cluster (Debian's pg_ctlcluster), for tests that stop and start
 * it under a running API. Only the cluster that serves the tests' admin URL (127.0.0.1, its
 * port) is ever touched; anything else makes these helpers throw.
 */
export interface PostgresCluster {
  version: string;
  name: string;
  port: number;
}

const adminDbUrl = process.env.TEST_DB_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** pg_ctlcluster needs root: directly when we are root, else through sudo (never prompting). */
function asRoot(file: string, args: string[]) {
  const root = process.getuid?.() === 0;
  return execa(root ? file : 'sudo', root ? args : ['-n', file, ...args], { timeout: 120_000 });
}

/** The local cluster listening on the admin URL's port (pg_lsclusters). */
export async function localPostgresCluster(): Promise<PostgresCluster> {
  const url = new URL(adminDbUrl);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname))
    throw new Error(`TEST_DB_ADMIN_URL points at ${url.hostname}: only a PostgreSQL cluster on this machine can be restarted`);
  const port = Number(url.port || 5432);
  const { stdout } = await execa('pg_lsclusters', ['--json']);
  const clusters = JSON.parse(stdout) as Array<{ version: number | string; cluster: string; port: number | string }>;
  const found = clusters.find((c) => Number(c.port) === port);
  if (!found) throw new Error(`no local PostgreSQL cluster on port ${port} (pg_lsclusters: ${stdout.slice(0, 300)})`);
  return { version: String(found.version), name: found.cluster, port };
}

async function pgCtlCluster(cluster: PostgresCluster, action: 'start' | 'stop'): Promise<void> {
  // --skip-systemctl-redirect: no systemd on these machines; fast shutdown (the default) aborts open transactions.
  await asRoot('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, action]);
}

/** Whether the cluster answers a query (a fresh connection, no pool). */
export async function postgresAnswers(timeoutMs = 2000): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminDbUrl, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Stops the cluster (fast shutdown: sessions are ended) and waits until it no longer answers. */
export async function stopPostgres(cluster: PostgresCluster): Promise<void> {
  await pgCtlCluster(cluster, 'stop');
  await waitUntil(async () => !(await postgresAnswers(1000)), 30_000, 'PostgreSQL still answered after stop');
}

/** Starts the cluster and waits until it answers. */
export async function startPostgres(cluster: PostgresCluster): Promise<void> {
  await pgCtlCluster(cluster, 'start');
  await waitUntil(() => postgresAnswers(), 60_000, 'PostgreSQL did not answer after start');
}

/** Starts the cluster when it does not answer (for finally blocks: never leave it stopped). */
export async function ensurePostgresRunning(cluster: PostgresCluster): Promise<void> {
  if (await postgresAnswers()) return;
  // May fail because it is already starting up: what counts is that it answers.
  await pgCtlCluster(cluster, 'start').catch(() => undefined);
  await waitUntil(() => postgresAnswers(), 60_000, 'PostgreSQL did not answer after start');
}
