import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { randomToken, safeEqual } from '../common/crypto/secrets.js';

export const ACCESS_COOKIE = 'xs_access';
export const REFRESH_COOKIE = 'xs_refresh';
/** Readable by the console's script, echoed in X-CSRF-Token (double-submit). */
export const CSRF_COOKIE = 'xs_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function setSessionCookies(reply: FastifyReply, config: AppConfig, tokens: { accessToken: string; refreshToken: string }): void {
  const base = { secure: config.API_COOKIE_SECURE, sameSite: 'strict' as const };
  reply.setCookie(ACCESS_COOKIE, tokens.accessToken, {
    ...base,
    httpOnly: true,
    path: '/api',
    maxAge: config.API_ACCESS_TOKEN_TTL_SECONDS,
  });
  reply.setCookie(REFRESH_COOKIE, tokens.refreshToken, {
    ...base,
    httpOnly: true,
    path: '/api/v1/auth',
    maxAge: config.API_REFRESH_TOKEN_TTL_SECONDS,
  });
  reply.setCookie(CSRF_COOKIE, randomToken(24), { ...base, httpOnly: false, path: '/', maxAge: config.API_SESSION_MAX_AGE_SECONDS });
}

export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(ACCESS_COOKIE, { path: '/api' });
  reply.clearCookie(REFRESH_COOKIE, { path: '/api/v1/auth' });
  reply.clearCookie(CSRF_COOKIE, { path: '/' });
}

/** Cookie-authenticated writes must echo the CSRF cookie in a header; bearer clients need not. */
export function assertCsrf(request: FastifyRequest): void {
  if (!UNSAFE.has(request.method)) return;
  const cookie = request.cookies[CSRF_COOKIE];
  const header = request.headers[CSRF_HEADER];
  if (!cookie || typeof header !== 'string' || !safeEqual(cookie, header)) {
    throw new AppError(
      'AUTH_CSRF_FAILED',
      `cookie-authenticated ${request.method} requests must send the ${CSRF_COOKIE} cookie value in the X-CSRF-Token header`,
    );
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new AppError('AUTH_TOKEN_INVALID', 'the Authorization header must be "Bearer <token>"');
  return match[1];
}
