import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE } from '../src/db/migrations/1795505000000-AppRole.js';
import { TestApi } from './support/harness.js';

const REPO = join(import.meta.dirname, '../..');
/** Where our pg clients and pools live: product, tests, the lab and the benchmark. */
const ROOTS = ['api/src', 'api/test', 'api/bench', 'infra/lab/src', 'console/test'];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') files.push(...(await sourceFiles(path)));
    } else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) files.push(path);
  }
  return files;
}

/**
 * Every construction of a pg Client or Pool that is not followed, in the same file, by
 * `<variable>.on('error', ...)`. Without that listener a
 * connection PostgreSQL ends while idle (57P01 on restart or pg_terminate_backend) is emitted as
 * 'error' with nobody listening: an uncaught exception that kills the process.
 */
async function constructionsWithoutErrorListener(): Promise<{ checked: number; missing: string[] }> {
  let checked = 0;
  const missing: string[] = [];
  for (const root of ROOTS) {
    for (const file of await sourceFiles(join(REPO, root))) {
      const text = await readFile(file, 'utf8');
      if (!/from ['"]pg['"]|require\(['"]pg['"]\)/.test(text)) continue;
      for (const match of text.matchAll(/(?:([\w.]+)\s*=\s*)?new\s+(?:pg\.)?(?:Client|Pool)\s*\(/g)) {
        checked++;
        const line = text.slice(0, match.index).split('\n').length;
        const name = match[1];
        const where = `${relative(REPO, file)}:${line}`;
        if (!name) {
          missing.push(`${where} (not assigned to a variable)`);
          continue;
        }
        const after = text.slice(match.index);
        const escaped = name.replace(/[.$]/g, (c) => `\\${c}`);
        if (!new RegExp(`\\b${escaped}\\.on\\(\\s*['"]error['"]`).test(after)) missing.push(`${where} (${name})`);
      }
    }
  }
  return { checked, missing };
}

describe('pg clients and pools have an error listener', () => {
  it('finds the constructions it checks, and none lacks a listener', async () => {
    const { checked, missing } = await constructionsWithoutErrorListener();
    expect(checked).toBeGreaterThanOrEqual(10);
    expect(missing).toEqual([]);
  });
});

/**
 * PostgreSQL ending a connection (57P01 "terminating connection due to administrator command")
 * is an error the code handles: the process survives and the next request gets a new connection.
 * Only this file's own backends are terminated, in this file's own database.
 */
describe('a backend terminated under the API (57P01)', () => {
  let api: TestApi;
  const uncaught: unknown[] = [];
  const recordUncaught = (error: unknown) => uncaught.push(error);

  beforeAll(async () => {
    process.on('uncaughtException', recordUncaught);
    api = await TestApi.start();
  });

  afterAll(async () => {
    process.off('uncaughtException', recordUncaught);
    await api?.stop();
  });

  /** The idle backends of the API's operators' pool (it connects as the app role) in this test's database (the devices' pool, same handler, is left alone). */
  async function idleApiBackends(): Promise<number[]> {
    const { rows } = await api.sql.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = $1 AND state = 'idle' AND application_name = 'xspectre-api'`,
      [APP_ROLE],
    );
    return rows.map((r) => r.pid);
  }

  it('keeps answering: the pool drops the dead clients and opens new ones', async () => {
    const token = await api.adminToken();
    // Several requests at once, so the pool holds more than one idle connection.
    const replies = await Promise.all(Array.from({ length: 4 }, () => api.request('GET', '/users', { token })));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const pool = (api.app.get(DataSource).driver as unknown as { master: pg.Pool }).master;
    const backends = await idleApiBackends();
    // The API is quiet: every idle backend of its role is a client waiting in the pool.
    expect(backends.length).toBeGreaterThan(0);
    expect(backends.length).toBe(pool.idleCount);

    let dropped = 0;
    const allDropped = new Promise<void>((resolve) =>
      pool.on('error', () => {
        if (++dropped === backends.length) resolve();
      }),
    );
    // The timeout makes it wait until each backend has exited (and sent its 57P01).
    const { rows } = await api.sql.query<{ ok: boolean }>(`SELECT pg_terminate_backend(pid, 10000) AS ok FROM unnest($1::int[]) AS pid`, [
      backends,
    ]);
    expect(rows.every((r) => r.ok)).toBe(true);
    await allDropped;

    expect((await api.request('GET', '/users', { token })).status).toBe(200);
    expect((await api.request('GET', '/health/ready')).status).toBe(200);
    expect(uncaught).toEqual([]);
  });

  it('a client of ours gets 57P01 as an error event, and the process goes on', async () => {
    const client = new pg.Client({ connectionString: api.sql.options.connectionString });
    const ended = new Promise<Error & { code?: string }>((resolve) => client.on('error', resolve));
    await client.connect();
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await api.sql.query('SELECT pg_terminate_backend($1, 10000)', [pid]);
    expect((await ended).code).toBe('57P01');
    await client.end().catch(() => undefined);
    expect((await api.sql.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    expect(uncaught).toEqual([]);
  });
});
