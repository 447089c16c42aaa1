import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { httpModule, httpsModule } from '../builtins.js';
import { printable } from '../errors.js';

/**
 * The few HTTP exchanges of the disk-image protocol (backup-server/README.md, "Full-disk
 * images"): basic auth with user = device id and password = a scoped token (never logged).
 * node:http rather than fetch, as agent/src/http.ts explains.
 */
export interface ImageAuth {
  deviceId: string;
  token: string;
}

export interface SmallAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** At most MAX_ANSWER_BYTES of the body, as text. */
  text: string;
}

const MAX_ANSWER_BYTES = 64 * 1024;

/** A request that got no HTTP answer (connection refused or cut, timeout). Worth retrying. */
export class ImageNetworkError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ImageNetworkError';
  }
}

function authHeader(auth: ImageAuth): string {
  return `Basic ${Buffer.from(`${auth.deviceId}:${auth.token}`).toString('base64')}`;
}

export function sendRequest(
  method: string,
  url: string,
  auth: ImageAuth,
  options: { headers?: Record<string, string>; body?: Buffer; timeoutMs: number; signal?: AbortSignal },
): Promise<IncomingMessage> {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    return Promise.reject(new Error(`unsupported protocol ${target.protocol}`));
  const send = target.protocol === 'https:' ? httpsModule().request : httpModule().request;
  const headers: Record<string, string> = {
    ...options.headers,
    authorization: authHeader(auth),
    'user-agent': 'xspectre-recovery',
    ...(options.body ? { 'content-length': String(options.body.length) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      { method, headers, timeout: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) },
      resolve,
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(options.timeoutMs / 1000)} s`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new ImageNetworkError(`${method} ${target.pathname}: ${err.code ?? err.message}`)),
    );
    req.end(options.body);
  });
}

/** A request whose answer is small (JSON, an error text, or nothing). */
export async function exchange(
  method: string,
  url: string,
  auth: ImageAuth,
  options: { headers?: Record<string, string>; body?: Buffer; json?: unknown; timeoutMs: number; signal?: AbortSignal },
): Promise<SmallAnswer> {
  const body = options.json !== undefined ? Buffer.from(JSON.stringify(options.json)) : options.body;
  const headers = options.json !== undefined ? { ...options.headers, 'content-type': 'application/json' } : options.headers;
  const res = await sendRequest(method, url, auth, { ...options, ...(headers ? { headers } : {}), ...(body ? { body } : {}) });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < MAX_ANSWER_BYTES) chunks.push(chunk.subarray(0, MAX_ANSWER_BYTES - size));
      size += chunk.length;
    });
    res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    res.on('error', (err: NodeJS.ErrnoException) => reject(new ImageNetworkError(`${method}: answer cut (${err.code ?? err.message})`)));
    res.on('aborted', () => reject(new ImageNetworkError(`${method}: answer cut`)));
  });
}

/** The server's reason, for reports: the problem's detail or the text, printable and short. */
export function answerReason(answer: SmallAnswer): string {
  let text = answer.text;
  try {
    const parsed = JSON.parse(text) as { detail?: unknown; title?: unknown; message?: unknown; error?: unknown };
    const picked = [parsed.detail, parsed.message, parsed.error, parsed.title].find((v) => typeof v === 'string');
    if (typeof picked === 'string') text = picked;
  } catch {
    // plain text
  }
  return `HTTP ${answer.status}${text.trim() ? `: ${printable(text, 300)}` : ''}`;
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

/** Exponential backoff with a cap: attempt 0 → base, 1 → 2·base, … */
export function backoffMs(attempt: number, baseMs: number, capMs = 30_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
}
