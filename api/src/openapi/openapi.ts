import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { API_VERSION } from '../version.js';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('xSPECTRE Ops API')
    .setDescription(
      'Operator API of the xSPECTRE Ops Console. Errors are application/problem+json with a stable `code`. ' +
        'Authenticate with `Authorization: Bearer <accessToken>` or the session cookies (then send X-CSRF-Token on writes).',
    )
    .setVersion(API_VERSION)
    // Relative: the document is served by the API it describes, at whatever address clients use.
    .addServer('/', 'this API, at the address the document was fetched from')
    .addBearerAuth()
    .addCookieAuth('xs_access')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Serves the UI at /api/docs and the document at /api/docs-json. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('api/docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'api/docs-json' });
}
