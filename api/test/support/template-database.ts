import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runMigrations } from '../../src/db/migrate.js';

/**
 * One migrated database per test run, copied by `CREATE DATABASE … TEMPLATE` for every API a
 * test starts: a copy takes a fraction of a second, the migrations several seconds each time
 * (on a 2-core machine they added minutes to the run). vitest runs this once (globalSetup of the
 * integration and lab lanes) and hands the name on in TEST_TEMPLATE_DB; `teardown` drops it.
 * Specs that test the migrations themselves start from an empty database instead
 * (createTestDatabase without `migrated`).
 */
const adminDbUrl = process.env.TEST_DB_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminDbUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

export async function setup(): Promise<(() => Promise<void>) | undefined> {
  // Both lanes name this file; their setups run in one process, and the first one's template serves both.
  if (process.env.TEST_TEMPLATE_DB) return undefined;
  const name = `xs_template_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminDbUrl);
  url.pathname = `/${name}`;
  try {
    await runMigrations(url.toString());
    // Nobody may stay connected to a template: a copy fails while a session is open on it.
    await withAdmin((admin) => admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`));
  } catch (error) {
    await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    throw error;
  }
  process.env.TEST_TEMPLATE_DB = name;
  return async () => {
    await withAdmin(async (admin) => {
      await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    });
  };
}
