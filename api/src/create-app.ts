import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/config.js';
import { createLogger, NestPinoLogger } from './common/logging/logger.js';
import { RequestLogController } from './common/logging/request-log.js';
import { requestContext, type RequestContext } from './common/context/request-context.js';
import { setupOpenApi } from './openapi/openapi.js';
import { AppError } from './common/errors/app-error.js';
import { toProblem } from './common/errors/to-problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    xsContext?: RequestContext;
  }
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

function trustProxyOption(value: string): boolean | string | string[] {
  if (value === 'true' || value === 'false') return value === 'true';
  const list = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  return list.length === 1 ? list[0]! : list;
}

/** Builds the API: Fastify with request ids, JSON logs, body limits, cookies, problem+json everywhere. */
/** The SAML assertion consumer service: the one route an identity provider posts a form to. */
const FORM_POST_PATH = /^\/api\/v1\/auth\/sso\/saml\/[0-9a-f-]{36}\/acs(\?|$)/i;
/** The file manager's upload: the one route that takes a raw body, streamed to the device (api/src/remote-access/files). */
const UPLOAD_PATH = /^\/api\/v1\/devices\/[0-9a-f-]{36}\/files\/upload(\?|$)/i;
const OCTET_STREAM = /^application\/octet-stream\s*(;|$)/i;

export async function createApp(config: AppConfig, logger: Logger = createLogger(config.API_LOG_LEVEL)): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // No line per successful heartbeat (fleet rate); errors and slow requests are still logged.
    logController: new RequestLogController(),
    bodyLimit: config.API_BODY_LIMIT_BYTES,
    trustProxy: trustProxyOption(config.API_TRUST_PROXY),
    // An upstream id is kept only when it looks like one; otherwise we mint our own.
    genReqId: (req: IncomingMessage) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
    // Bad URLs and over-long path parameters are refused by the router itself: problem+json there too.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      const { problem } = toProblem(error, String(request.id));
      void reply
        .status(problem.status)
        .header('content-type', 'application/problem+json; charset=utf-8')
        .header('x-request-id', request.id)
        .send(problem);
    },
    forceCloseConnections: 'idle',
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), adapter, {
    logger: new NestPinoLogger(logger),
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  await app.register(fastifyCookie);

  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
    const contentType = request.headers['content-type'];
    if (
      contentType !== undefined &&
      BODY_METHODS.has(request.method) &&
      !/^application\/json\s*(;|$)/i.test(contentType) &&
      // Only the SAML assertion consumer takes a form (the IdP's HTTP-POST binding; Nest's adapter parses it).
      !(FORM_POST_PATH.test(request.url) && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) &&
      // Only the upload takes raw bytes; its handler reads the stream itself and bounds it (API_FILES_MAX_UPLOAD_BYTES).
      !(request.method === 'PUT' && UPLOAD_PATH.test(request.url) && OCTET_STREAM.test(contentType))
    ) {
      // Every route speaks JSON; refuse other bodies before a parser turns them into strings.
      done(new AppError('UNSUPPORTED_MEDIA_TYPE', `send the body as application/json, not ${contentType.slice(0, 80)}`));
      return;
    }
    const ctx: RequestContext = { requestId: String(request.id), sourceIp: request.ip ?? null, audit: {} };
    request.xsContext = ctx;
    requestContext.run(ctx, done);
  });
  // The raw stream is handed through unread (no buffering, no global body limit): the onRequest hook
  // above lets it reach the upload route only, which counts the bytes against API_FILES_MAX_UPLOAD_BYTES.
  fastify.addContentTypeParser(
    'application/octet-stream',
    (_request: FastifyRequest, payload: IncomingMessage, done: (error: Error | null, body?: unknown) => void) => done(null, payload),
  );
  // Body parsing can lose the async context; re-enter it right before the handler.
  fastify.addHook('preHandler', (request: FastifyRequest, _reply, done) => {
    if (request.xsContext) requestContext.run(request.xsContext, done);
    else done();
  });
  app.setGlobalPrefix('api/v1');
  setupOpenApi(app);
  // Exit 0 after a clean close instead of re-raising the signal (which would report a kill).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  return app;
}
