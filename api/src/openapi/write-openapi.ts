import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/config.js';
import { createApp } from '../create-app.js';
import { createLogger } from '../common/logging/logger.js';
import { buildOpenApiDocument } from './openapi.js';

/** The committed document, api/openapi.json; a test fails when it drifts from the code. */
export const OPENAPI_PATH = fileURLToPath(new URL('../../openapi.json', import.meta.url));

export function serializeOpenApi(doc: object): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  const app = await createApp(config, createLogger('warn'));
  await writeFile(OPENAPI_PATH, serializeOpenApi(buildOpenApiDocument(app)));
  await app.close();
  console.log(`wrote ${OPENAPI_PATH}`);
}
