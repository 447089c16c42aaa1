import { readFile } from 'node:fs/promises';
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSourceOptions } from '../src/db/data-source-options.js';
import { runMigrations } from '../src/db/migrate.js';
import { ENTITIES } from '../src/entities.js';
import { MIGRATIONS } from '../src/db/migrations/index.js';
import { buildOpenApiDocument } from '../src/openapi/openapi.js';
import { OPENAPI_PATH, serializeOpenApi } from '../src/openapi/write-openapi.js';
import { TestApi, createTestDatabase } from './support/harness.js';

describe('schema and contract drift', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('the migrations produce exactly the schema the entities describe', async () => {
    await runMigrations(db.url);
    const ds = new DataSource(dataSourceOptions(db.url, ENTITIES, 1));
    await ds.initialize();
    try {
      const pending = await ds.driver.createSchemaBuilder().log();
      // Same check as `typeorm migration:generate --check`: a non-empty diff means a missing migration.
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });

  it('every migration can be reverted and re-applied', async () => {
    for (let i = 0; i < MIGRATIONS.length; i++) await runMigrations(db.url, true);
    const ds = new DataSource(dataSourceOptions(db.url, ENTITIES, 1));
    await ds.initialize();
    const tables = await ds.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations'`,
    );
    await ds.destroy();
    expect(tables).toEqual([]);
    expect(await runMigrations(db.url)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it('the committed OpenAPI document matches the code (run `npm run openapi` after changing routes)', async () => {
    const api = await TestApi.start();
    try {
      const generated = serializeOpenApi(buildOpenApiDocument(api.app));
      const committed = await readFile(OPENAPI_PATH, 'utf8').catch(() => '(missing)');
      expect(committed === generated, 'api/openapi.json is out of date: run `npm run openapi`').toBe(true);
      const doc = JSON.parse(generated);
      expect(doc.paths['/api/v1/auth/login'].post).toBeDefined();
      expect(doc.paths['/api/v1/organizations'].post.requestBody.content['application/json'].schema.properties.kind.enum).toEqual([
        'customer',
        'internal',
      ]);
    } finally {
      await api.stop();
    }
  });
});
