import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadDatabaseUrl } from '../config/config.js';
import { dataSourceOptions } from './data-source-options.js';

/**
 * Applies pending migrations (`npm run migrate`); `--revert` undoes the last one. The migrations
 * are plain SQL, so this data source maps no entities (and db needs no feature's).
 */
export async function runMigrations(dbUrl: string, revert = false): Promise<string[]> {
  const dataSource = new DataSource(dataSourceOptions(dbUrl, [], 1));
  await dataSource.initialize();
  try {
    if (revert) {
      await dataSource.undoLastMigration({ transaction: 'each' });
      return [];
    }
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const applied = await runMigrations(loadDatabaseUrl(), process.argv.includes('--revert'));
  console.log(JSON.stringify({ msg: 'migrations done', applied }));
}
