import { ProblemSchema, type Problem } from '@xspectre/contracts';
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
}

/** POSTs JSON. Throws ApiUnreachableError when no HTTP answer arrives (or a gateway says the API is down). */
export async function postJson(url: string, payload: unknown, options: PostOptions): Promise<ApiResponse> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, application/problem+json',
    'user-agent': `xspectre-agent/${AGENT_VERSION}`,
  };
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;

  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(payload), signal, redirect: 'error' });
    text = await readCapped(response);
  } catch (err) {
    throw new ApiUnreachableError(
      url,
      timeout.aborted ? `no answer within ${Math.round(options.timeoutMs / 1000)} s` : describeFetchError(err),
    );
  }

  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const problem = ProblemSchema.safeParse(body);
  if (!problem.success && [502, 503, 504].includes(response.status)) {
    throw new ApiUnreachableError(url, `HTTP ${response.status} from a gateway`);
  }
  return { status: response.status, body, problem: problem.success ? problem.data : undefined };
}

async function readCapped(response: Response): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw new Error(`answer larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'AbortError') return 'aborted';
  const cause = (err as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${code} (${cause.message})` : cause.message;
  }
  return err.message;
}
