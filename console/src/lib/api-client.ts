import { ProblemSchema, SessionTokensSchema, type Problem } from '@xspectre/contracts';
import type { z } from 'zod';

/** Everything the console asks goes to the API through the console's own origin (server.mjs proxies /api). */
export const API_BASE = '/api/v1/';
const CSRF_COOKIE = 'xs_csrf';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Codes that mean "the access token is gone or stale": one refresh, then retry. */
const REFRESHABLE = new Set(['AUTH_REQUIRED', 'AUTH_TOKEN_INVALID']);
/** Codes after which no refresh can help: back to sign-in. */
const ENDED = new Set(['AUTH_SESSION_REVOKED', 'AUTH_USER_DISABLED', 'AUTH_REFRESH_REUSED']);

/** An API refusal, carrying the problem+json body so screens can show `detail` and `code`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail || problem.title);
    this.name = 'ApiError';
  }
  get code(): string {
    return this.problem.code;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

/** Turns any failure into a problem: API problems as they are, network failures as a local one. */
export function problemOf(error: unknown): Problem {
  if (error instanceof ApiError) return error.problem;
  const detail = error instanceof Error ? error.message : String(error);
  return { type: 'about:blank', title: 'The console could not reach the API', status: 0, detail, code: 'NETWORK_ERROR' };
}

export function readCookie(name: string): string | null {
  if (typeof document === 'undefined') return null;
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export interface RequestOptions<S extends z.ZodType> {
  method?: string;
  body?: unknown;
  query?: Query;
  schema?: S;
  signal?: AbortSignal;
}

/** `expired`: there was a session and it could not be refreshed; `none`: this browser never signed in. */
export type SessionEnd = 'expired' | 'none';
type SessionEndedListener = (end: SessionEnd) => void;
const sessionEndedListeners = new Set<SessionEndedListener>();

/** Called when the session cannot be refreshed any more: the shell sends the operator to sign in. */
export function onSessionEnded(listener: SessionEndedListener): () => void {
  sessionEndedListeners.add(listener);
  return () => sessionEndedListeners.delete(listener);
}

let refreshing: Promise<boolean> | null = null;

/**
 * Rotates the session with the refresh cookie (path /api/v1/auth, CSRF header). Concurrent
 * callers share one attempt: a refresh token is single-use, two parallel refreshes would look
 * like reuse and end the session.
 */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const response = await fetch(`${API_BASE}auth/refresh`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': readCookie(CSRF_COOKIE) ?? '' },
        body: '{}',
      });
      if (!response.ok) return false;
      SessionTokensSchema.parse(await response.json());
      return true;
    } catch {
      return false;
    } finally {
      setTimeout(() => (refreshing = null), 0);
    }
  })();
  return refreshing;
}

export function notifySessionEnded(): void {
  const end: SessionEnd = readCookie(CSRF_COOKIE) === null ? 'none' : 'expired';
  for (const listener of sessionEndedListeners) listener(end);
}

async function send(path: string, options: RequestOptions<z.ZodType>): Promise<Response> {
  const method = (options.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = { accept: 'application/json' };
  // Writes always carry a JSON body (the API takes only application/json), `{}` when there is nothing to say.
  const body = options.body !== undefined ? JSON.stringify(options.body) : UNSAFE.has(method) ? '{}' : undefined;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (UNSAFE.has(method)) headers['x-csrf-token'] = readCookie(CSRF_COOKIE) ?? '';
  return fetch(API_BASE + withQuery(path.replace(/^\//, ''), options.query), {
    method,
    headers,
    credentials: 'same-origin',
    body,
    signal: options.signal,
    cache: 'no-store',
  });
}

async function problemFrom(response: Response): Promise<Problem> {
  const text = await response.text();
  try {
    const parsed = ProblemSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    /* not JSON: a proxy or network error page */
  }
  return {
    type: 'about:blank',
    title: response.statusText || 'Request failed',
    status: response.status,
    detail: text.slice(0, 300) || `HTTP ${response.status}`,
    code: 'HTTP_' + response.status,
  };
}

/**
 * One API call. A 401 for a missing or stale access token triggers one refresh and a retry;
 * when the refresh fails too the session is over (listeners send the operator to sign in).
 * `schema` validates the answer against the wire contract.
 */
export async function api<S extends z.ZodType = z.ZodType<unknown>>(path: string, options: RequestOptions<S> = {}): Promise<z.infer<S>> {
  let response = await send(path, options);
  if (response.status === 401) {
    const first = await problemFrom(response.clone());
    if (REFRESHABLE.has(first.code) || ENDED.has(first.code)) {
      // No CSRF cookie: there never was a session in this browser, nothing to refresh.
      if (REFRESHABLE.has(first.code) && readCookie(CSRF_COOKIE) !== null && (await refreshSession())) {
        response = await send(path, options);
      } else {
        notifySessionEnded();
        throw new ApiError(401, first);
      }
      if (response.status === 401) notifySessionEnded();
    }
  }
  if (!response.ok) throw new ApiError(response.status, await problemFrom(response));
  if (response.status === 204) return undefined as z.infer<S>;
  const json: unknown = await response.json();
  return (options.schema ? options.schema.parse(json) : json) as z.infer<S>;
}
