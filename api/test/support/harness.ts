import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import { generate } from 'otplib';
import { loadConfig, type AppConfig } from '../../src/config/config.js';
import { createApp } from '../../src/create-app.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { runMigrations } from '../../src/db/migrate.js';
import { APP_ROLE } from '../../src/db/migrations/1795505000000-AppRole.js';

export const ADMIN_EMAIL = 'admin@test.local';
export const ADMIN_PASSWORD = 'admin-password-for-tests';
export const TEST_PASSWORD = 'operator-password-123';

const adminDbUrl = process.env.TEST_DB_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/**
 * A database of its own: empty, or with `migrated` a copy of the run's migrated template
 * (support/template-database.ts) when the lane made one; callers still run the migrations, which
 * then have nothing left to do.
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `xs_test_${randomBytes(6).toString('hex')}`;
  const template = options.migrated ? process.env.TEST_TEMPLATE_DB : undefined;
  const admin = new pg.Client({ connectionString: adminDbUrl });
  // A connection PostgreSQL ends (57P01) emits 'error': without a listener that would crash the run.
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    if (template) {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
      // A database's own ACL is not copied with its contents; the app role migration granted this.
      await admin.query(`GRANT CONNECT ON DATABASE ${name} TO ${APP_ROLE}`);
    } else {
      await admin.query(`CREATE DATABASE ${name}`);
    }
  } finally {
    await admin.end();
  }
  const url = new URL(adminDbUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminDbUrl });
      c.on('error', () => undefined);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      // What API instances of this database wrote beside it, whoever started them (TestApi, spawned processes).
      await rm(anchorDirFor(url.toString()), { recursive: true, force: true });
      await rm(keyStoreDirFor(url.toString()), { recursive: true, force: true });
    },
  };
}

/** The same database as the API's own role (api/src/db/migrations/*AppRole*: it owns nothing). */
export function appRoleUrl(ownerUrl: string): string {
  const url = new URL(ownerUrl);
  url.username = APP_ROLE;
  url.password = '';
  return url.toString();
}

/** The audit checkpoint directory of a test database (removed with it). */
export function anchorDirFor(dbUrl: string): string {
  return join(tmpdir(), `xs-audit-anchors-${new URL(dbUrl).pathname.slice(1)}`);
}

/** The signing key store of a test database (removed with it); siblings share it, as instances of one installation do. */
export function keyStoreDirFor(dbUrl: string): string {
  return join(tmpdir(), `xs-keys-${new URL(dbUrl).pathname.slice(1)}`);
}

export function testEnv(dbUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DB_URL: dbUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `xs-test-${randomBytes(4).toString('hex')}:`,
    API_SECRET_KEY: randomBytes(48).toString('base64'),
    API_COOKIE_SECURE: 'false',
    API_BOOTSTRAP_ADMIN_EMAIL: ADMIN_EMAIL,
    API_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    API_LOG_LEVEL: 'silent',
    API_LOGIN_RATE_LIMIT_PER_IP: '100000',
    // Tests send many failing requests from loopback; audit-hardening.spec.ts sets a small budget itself.
    API_AUDIT_FAILURES_PER_IP: '100000',
    // Per database, so instances of one installation (startSibling, spawned processes) share their checkpoints.
    API_AUDIT_ANCHOR_DIR: anchorDirFor(dbUrl),
    API_KEY_STORE_DIR: keyStoreDirFor(dbUrl),
    API_PORT: '0',
    ...overrides,
  };
}

/** The real API on a loopback port, over its own database, spoken to over HTTP. */
export class TestApi {
  private constructor(
    readonly app: NestFastifyApplication,
    readonly config: AppConfig,
    readonly baseUrl: string,
    readonly sql: pg.Pool,
    private readonly dropDb: () => Promise<void>,
  ) {}

  /**
   * `listen.host` '0.0.0.0' makes it reachable from the fleet lab's devices (default loopback only);
   * `listen.port` a port picked beforehand (default any free one). baseUrl stays on 127.0.0.1.
   */
  static async start(overrides: Record<string, string> = {}, listen: { host?: string; port?: number } = {}): Promise<TestApi> {
    const db = await createTestDatabase({ migrated: true });
    await runMigrations(db.url);
    // Migrations ran as the owner; the API connects as the role that owns nothing, as in production.
    const config = loadConfig(testEnv(appRoleUrl(db.url), overrides));
    const app = await createApp(config, createLogger('silent'));
    await app.listen({ port: listen.port ?? 0, host: listen.host ?? '127.0.0.1' });
    const address = app.getHttpServer().address() as { port: number };
    const sql = new pg.Pool({ connectionString: db.url, max: 2 });
    // Dropping the database (WITH FORCE) ends idle clients; that is expected, not a test failure.
    sql.on('error', () => undefined);
    const drop = async () => {
      await db.drop();
      await rm(config.API_AUDIT_ANCHOR_DIR, { recursive: true, force: true });
      await rm(config.API_KEY_STORE_DIR, { recursive: true, force: true });
    };
    return new TestApi(app, config, `http://127.0.0.1:${address.port}`, sql, drop);
  }

  /**
   * Another API instance of the same installation, as behind a load balancer: same database,
   * Redis prefix and secret key (a token of one is valid at the other). Stop it before `first`;
   * its stop() leaves the database to `first`.
   */
  static async startSibling(first: TestApi, overrides: Record<string, string> = {}): Promise<TestApi> {
    const shared = { REDIS_KEY_PREFIX: first.config.REDIS_KEY_PREFIX, API_SECRET_KEY: first.config.API_SECRET_KEY };
    const config = loadConfig(testEnv(first.config.DB_URL, { ...shared, ...overrides }));
    const app = await createApp(config, createLogger('silent'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address() as { port: number };
    const sql = new pg.Pool({ connectionString: first.sql.options.connectionString, max: 2 });
    sql.on('error', () => undefined);
    return new TestApi(app, config, `http://127.0.0.1:${address.port}`, sql, async () => undefined);
  }

  async stop(): Promise<void> {
    await this.app.close();
    await this.sql.end();
    await this.dropDb();
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    } else if (body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${this.baseUrl}/api/v1/${path.replace(/^\//, '')}`, { method, headers, body, redirect: 'manual' });
    // Binary downloads (the agent executable) are not read into memory: callers check headers only.
    const binary = response.headers.get('content-type')?.startsWith('application/octet-stream');
    if (binary) await response.body?.cancel();
    const text = binary ? '' : await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON (CSV) */
    }
    return { status: response.status, body: parsed as T, headers: response.headers, text };
  }

  async login(email: string, password: string): Promise<Reply> {
    return this.request('POST', 'auth/login', { body: { email, password } });
  }

  async adminToken(): Promise<string> {
    const r = await this.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    if (r.status !== 200) throw new Error(`admin login failed: ${r.status} ${r.text}`);
    return r.body.accessToken as string;
  }

  /** Creates an operator through the API and returns its id. */
  async createUser(
    adminToken: string,
    role: 'super_admin' | 'soc_operator' | 'read_only',
    email = uniqueEmail(role),
  ): Promise<{ id: string; email: string }> {
    const r = await this.request('POST', 'users', {
      token: adminToken,
      body: { email, displayName: `${role} user`, role, password: TEST_PASSWORD },
    });
    if (r.status !== 201) throw new Error(`create user failed: ${r.status} ${r.text}`);
    return { id: r.body.id, email };
  }

  async tokenFor(email: string, password = TEST_PASSWORD): Promise<string> {
    const r = await this.login(email, password);
    if (r.status !== 200 || !r.body.accessToken) throw new Error(`login failed: ${r.status} ${r.text}`);
    return r.body.accessToken as string;
  }

  /** Sets up and enables TOTP for the session's user; returns the secret and recovery codes. */
  async enableTotp(token: string): Promise<{ secret: string; recoveryCodes: string[] }> {
    const setup = await this.request('POST', 'auth/totp/setup', { token });
    if (setup.status !== 200) throw new Error(`totp setup failed: ${setup.text}`);
    const secret = setup.body.secret as string;
    const enable = await this.request('POST', 'auth/totp/enable', { token, body: { code: await totpCode(secret, -1) } });
    if (enable.status !== 200) throw new Error(`totp enable failed: ${enable.text}`);
    return { secret, recoveryCodes: enable.body.recoveryCodes };
  }

  async auditRows(where = 'TRUE', params: unknown[] = []): Promise<any[]> {
    const { rows } = await this.sql.query(`SELECT * FROM audit_events WHERE ${where} ORDER BY id`, params);
    return rows;
  }
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix.replace(/_/g, '-')}-${randomBytes(4).toString('hex')}@test.local`;
}

/**
 * The code of the time step `offset` steps from now (the API accepts one step either side).
 * Waits out the last second of a step so the step cannot roll over between making and checking.
 */
export async function totpCode(secret: string, offset = 0): Promise<string> {
  const intoStep = (Date.now() / 1000) % 30;
  if (intoStep > 28.5) await new Promise((r) => setTimeout(r, (30.2 - intoStep) * 1000));
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offset * 30 });
}
