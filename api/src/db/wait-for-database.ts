import pg from 'pg';
import type { Logger } from 'pino';
import { MIGRATIONS } from './migrations/index.js';

/** Backoff between attempts: 0.5 s doubling to 10 s. */
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;

/** What a log line may say about the database: host:port/name, never the user or password. */
export function describeDatabase(dbUrl: string): string {
  const url = new URL(dbUrl);
  return `${url.hostname}:${url.port || 5432}${url.pathname}`;
}

/** Names of the migrations this build expects applied (TypeORM records `name`, else the class name). */
function expectedMigrations(): string[] {
  return MIGRATIONS.map((M) => (new M() as { name?: string }).name ?? M.name);
}

/** One attempt: null when PostgreSQL answers and every migration of this build is applied, else why not. */
export async function databaseNotReadyReason(dbUrl: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: dbUrl, connectionTimeoutMillis: 5_000, application_name: 'xspectre-boot-wait' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string }>('SELECT name FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.name));
    const pending = expectedMigrations().filter((name) => !applied.has(name));
    return pending.length === 0 ? null : `${pending.length} migration(s) not applied yet (npm run migrate): ${pending.join(', ')}`;
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === '42P01') return 'the schema is not migrated yet (npm run migrate)';
    // A role that may not read the migrations table (it owns nothing): PostgreSQL answers, go on.
    if (e.code === '42501') return null;
    return [e.code, e.message].filter(Boolean).join(': ') || String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Waits until PostgreSQL answers and the schema is migrated, with capped backoff, logging each
 * wait. `maxWaitSeconds` 0 waits forever; otherwise throws once it is exceeded.
 */
export async function waitForDatabase(
  dbUrl: string,
  options: { logger: Logger; maxWaitSeconds: number; onWaiting?: (reason: string) => void | Promise<void> },
): Promise<void> {
  const database = describeDatabase(dbUrl);
  const started = Date.now();
  let delayMs = FIRST_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    const reason = await databaseNotReadyReason(dbUrl);
    if (reason === null) {
      if (attempt > 1) options.logger.info({ database, attempt, waitedMs: Date.now() - started }, 'PostgreSQL is ready');
      return;
    }
    await options.onWaiting?.(reason);
    const waitedMs = Date.now() - started;
    if (options.maxWaitSeconds > 0 && waitedMs + delayMs > options.maxWaitSeconds * 1000) {
      throw new Error(`PostgreSQL at ${database} was not ready within DB_WAIT_SECONDS=${options.maxWaitSeconds}: ${reason}`);
    }
    options.logger.warn({ database, attempt, reason, retryInMs: delayMs }, 'waiting for PostgreSQL');
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
  }
}

/**
 * The boot step of the API and the worker: waits as waitForDatabase does, leaving with 0 on a
 * signal meanwhile (nothing runs yet) and with 1 once DB_WAIT_SECONDS has run out. Returns what
 * removes those signal handlers, for when the process handles signals itself.
 */
export async function waitForDatabaseAtBoot(dbUrl: string, options: Parameters<typeof waitForDatabase>[1]): Promise<() => void> {
  const leave = (signal: NodeJS.Signals) => {
    options.logger.info({ signal }, 'shutting down while waiting for PostgreSQL');
    process.exit(0);
  };
  process.once('SIGTERM', leave);
  process.once('SIGINT', leave);
  try {
    await waitForDatabase(dbUrl, options);
  } catch (error) {
    options.logger.fatal({ err: error }, 'PostgreSQL did not become ready');
    process.exit(1);
  }
  return () => {
    process.off('SIGTERM', leave);
    process.off('SIGINT', leave);
  };
}
