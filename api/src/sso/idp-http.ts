/**
 * Requests from the administration routes to an identity provider (metadata, discovery, keys,
 * token endpoint): http(s) only, a time limit for the whole exchange and a size limit on the
 * answer, so a slow or huge answer cannot hold a request or fill memory.
 */

/** No HTTP answer that can be used: refused, reset, timed out, too large, not http(s). */
export class IdpHttpError extends Error {
  override name = 'IdpHttpError';
  constructor(
    message: string,
    /** The answer came but was larger than allowed (a wrong answer rather than no answer). */
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

export interface IdpRequest {
  url: string;
  timeoutMs: number;
  maxBytes: number;
  method?: 'GET' | 'POST';
  /** application/x-www-form-urlencoded body (the token endpoint). */
  form?: Record<string, string>;
  headers?: Record<string, string>;
  accept?: string;
}

export interface IdpAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Why a URL may not be used to talk to an identity provider, or null: https, or plain http to a
 * loopback address only (a local test IdP). Over plain http anyone on the path could swap the
 * certificates or keys that decide which sign-ins are trusted.
 */
export function insecureUrlReason(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${value.slice(0, 200)} is not a URL`;
  }
  if (url.protocol === 'https:') return null;
  if (url.protocol !== 'http:') return `${url.protocol} URLs are not fetched (https only)`;
  const host = url.hostname.toLowerCase();
  const loopback = host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
  return loopback ? null : `plain http is refused for ${url.host}: use https`;
}

/** Redirects a GET follows (each target checked like the first URL); a POST follows none. */
const MAX_REDIRECTS = 3;

export async function idpRequest(request: IdpRequest): Promise<IdpAnswer> {
  const signal = AbortSignal.timeout(request.timeoutMs);
  let url = request.url;
  let response: Response;
  for (let hop = 0; ; hop++) {
    const refusal = insecureUrlReason(url);
    if (refusal) throw new IdpHttpError(hop ? `redirected to ${url.slice(0, 200)}: ${refusal}` : refusal);
    try {
      response = await fetch(url, {
        method: request.method ?? 'GET',
        headers: {
          accept: request.accept ?? '*/*',
          ...(request.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...request.headers,
        },
        body: request.form ? new URLSearchParams(request.form).toString() : undefined,
        redirect: 'manual',
        signal,
      });
    } catch (error) {
      throw new IdpHttpError(describeFailure(error, request.timeoutMs));
    }
    const location = response.headers.get('location');
    const redirected = [301, 302, 303, 307, 308].includes(response.status) && location !== null;
    if (!redirected || request.method === 'POST') break;
    await response.body?.cancel().catch(() => undefined);
    if (hop >= MAX_REDIRECTS) throw new IdpHttpError(`more than ${MAX_REDIRECTS} redirects`);
    url = new URL(location, url).toString();
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > request.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new IdpHttpError(`the answer is larger than ${formatBytes(request.maxBytes)}`, true);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    const reader = response.body?.getReader();
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > request.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new IdpHttpError(`the answer is larger than ${formatBytes(request.maxBytes)}`, true);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof IdpHttpError) throw error;
    throw new IdpHttpError(describeFailure(error, request.timeoutMs));
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 ? `${Math.round(bytes / 1024)} KiB` : `${bytes} bytes`;
}

/** A short description of a network failure ("ECONNREFUSED", "no answer within 10 s"); never the request itself. */
function describeFailure(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = e?.cause;
  if (cause?.code) return `${cause.code}${cause.message && !cause.message.includes(cause.code) ? `: ${cause.message.slice(0, 160)}` : ''}`;
  return (cause?.message ?? e?.message ?? String(error)).slice(0, 200);
}
