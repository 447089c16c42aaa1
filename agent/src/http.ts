import { ProblemSchema, type Problem } from '@xspectre/contracts';
import { httpModule, httpsModule } from './builtins.js';
import { pinnedHttpsAgent } from './pinned-tls.js';
import { AGENT_VERSION } from './version.js';

/** The API could not be reached: connection refused, DNS, TLS, timeout, or a gateway error. */
export class ApiUnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${url}: ${reason}`);
    this.name = 'ApiUnreachableError';
  }
}

export interface ApiResponse {
  status: number;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
  /** Set when the body is an RFC 9457 problem (every API error is). */
  problem: Problem | undefined;
}

const MAX_BODY_BYTES = 1024 * 1024;

/** `https://ops/api/v1` + `agent/heartbeats` → `https://ops/api/v1/agent/heartbeats`. */
export function apiEndpoint(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

export interface PostOptions {
  timeoutMs: number;
  /** Sent as `Authorization: Bearer …`; never logged. */
  bearer?: string;
  /** Aborts the request early (shutdown). */
  signal?: AbortSignal;
  /** https only: trust exactly this server key (`sha256//…`, pinned-tls.ts) instead of a CA chain. */
  pin?: string;
}

/** As for postJson. */
export type GetOptions = PostOptions;

/**
 * POSTs JSON. Throws ApiUnreachableError when no HTTP answer arrives (or a gateway says the API is down).
 * node:http(s) rather than fetch: fetch loads undici and compiles its WebAssembly HTTP parser,
 * ~10 MB of resident memory that the agent, idle between heartbeats, would carry all day.
 */
export async function postJson(url: string, payload: unknown, options: PostOptions): Promise<ApiResponse> {
  return exchange('POST', url, JSON.stringify(payload), options);
}

/**
 * GETs JSON (the command long poll: `timeoutMs` must exceed the time the API may hold the
 * request). Errors as postJson.
 */
export async function getJson(url: string, options: GetOptions): Promise<ApiResponse> {
  return exchange('GET', url, undefined, options);
}

async function exchange(method: 'GET' | 'POST', url: string, body: string | undefined, options: PostOptions): Promise<ApiResponse> {
  const headers: Record<string, string> = {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    accept: 'application/json, application/problem+json',
    'user-agent': `xspectre-agent/${AGENT_VERSION}`,
  };
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;

  let answer: { status: number; text: string };
  try {
    answer = await request(method, url, headers, body, signal, options.pin);
  } catch (err) {
    throw new ApiUnreachableError(
      url,
      timeout.aborted ? `no answer within ${Math.round(options.timeoutMs / 1000)} s` : describeRequestError(err),
    );
  }

  let parsed: unknown;
  try {
    parsed = answer.text === '' ? undefined : JSON.parse(answer.text);
  } catch {
    parsed = undefined;
  }
  const problem = ProblemSchema.safeParse(parsed);
  if (!problem.success && [502, 503, 504].includes(answer.status)) {
    throw new ApiUnreachableError(url, `HTTP ${answer.status} from a gateway`);
  }
  return { status: answer.status, body: parsed, problem: problem.success ? problem.data : undefined };
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** One request; resolves the status and the body (at most MAX_BODY_BYTES), rejects on any failure or when `signal` aborts. */
async function request(
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal,
  pin: string | undefined,
): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`unsupported protocol ${target.protocol}`);
  if (pin !== undefined && target.protocol !== 'https:') throw new Error('a key pin needs an https:// URL');
  const send = target.protocol === 'https:' ? httpsModule().request : httpModule().request;
  const agent = pin === undefined ? undefined : pinnedHttpsAgent(pin);
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const allHeaders = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = send(target, { method, headers: allHeaders, ...(agent ? { agent } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status) && res.headers.location !== undefined) return fail(new Error('unexpected redirect'));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) fail(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        signal.removeEventListener('abort', onAbort);
        resolve({ status, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
      res.on('close', () => res.complete || fail(new Error('the connection closed mid-answer')));
    });
    function fail(err: unknown) {
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      reject(err);
    }
    function onAbort() {
      fail(signal.reason);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.end(body);
  });
}

function describeRequestError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'AbortError') return 'aborted';
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code} (${err.message})` : err.message;
}
