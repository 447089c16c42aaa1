import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Permission } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { ACCESS_COOKIE } from '../auth/auth-cookies.js';
import { LiveAuthenticator, type LivePrincipal } from './live-authenticator.js';

/**
 * Who may open a WebSocket, shared by every WebSocket path: the Origin allow-list (browsers
 * always send Origin on WebSockets and cookies ride along, so this is the CSRF defence), then the
 * access token (Bearer, else the access cookie), then the session and the permission.
 */
@Injectable()
export class WebSocketAdmission {
  private readonly allowedOrigins: ReadonlySet<string>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: LiveAuthenticator,
  ) {
    this.allowedOrigins = new Set(config.API_CONSOLE_ORIGINS);
  }

  /** Origin, then token, then session: the order decides which refusal a caller sees. */
  async admit(request: IncomingMessage, permission: Permission): Promise<LivePrincipal> {
    const origin = request.headers.origin;
    if (origin !== undefined && !this.allowedOrigins.has(origin))
      throw new AppError('LIVE_ORIGIN_FORBIDDEN', `origin ${origin.slice(0, 200)} is not an allowed console origin (API_CONSOLE_ORIGINS)`);
    const bearer = bearerToken(request.headers.authorization);
    const token = bearer ?? this.accessCookie(request.headers.cookie);
    if (!token) throw new AppError('AUTH_REQUIRED');
    if (!bearer && origin === undefined)
      throw new AppError(
        'LIVE_ORIGIN_FORBIDDEN',
        'a cookie session needs the Origin header of an allowed console; API clients send Authorization: Bearer',
      );
    return this.authenticator.authenticate(token, permission);
  }

  private accessCookie(header: string | undefined): string | undefined {
    if (!header) return undefined;
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    return fastify.parseCookie(header)[ACCESS_COOKIE];
  }
}

/** Same rule as the HTTP guard: a malformed Authorization header is an error, not "no token". */
function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new AppError('AUTH_TOKEN_INVALID', 'the Authorization header must be "Bearer <token>"');
  return match[1];
}
