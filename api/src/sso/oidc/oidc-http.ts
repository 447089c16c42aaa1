import type { CustomFetch } from 'openid-client';

/** An OpenID provider's answers (discovery, keys, tokens) are read up to this size. */
export const OIDC_MAX_RESPONSE_BYTES = 512 * 1024;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Whether a URL names this machine: plain http is allowed there only (a local test provider). */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname.toLowerCase()) || /^127(\.\d{1,3}){3}$/.test(url.hostname);
}

/** Refused by the guard below; openid-client wraps it, the protocol reports idp_error. */
export class OidcHttpRefused extends Error {
  override name = 'OidcHttpRefused';
}

/**
 * The fetch openid-client uses for every request to an OpenID provider: each one ends within
 * `timeoutMs`, answers are read up to OIDC_MAX_RESPONSE_BYTES, and plain http goes to loopback
 * addresses only: openid-client's allowInsecureRequests applies to all of a configuration's
 * requests, and discovery could name non-loopback http endpoints.
 */
export function boundedFetch(timeoutMs: number): CustomFetch {
  return async (url, options) => {
    const target = new URL(url);
    if (target.protocol !== 'https:' && !(target.protocol === 'http:' && isLoopbackUrl(target))) {
      throw new OidcHttpRefused(`refused: ${target.protocol}//${target.host} (only https, or http to this machine)`);
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const response = await fetch(url, { ...options, signal } as RequestInit);
    const body = await readBounded(response, OIDC_MAX_RESPONSE_BYTES);
    // A fresh Response: its body is the bounded copy (statuses without a body keep none).
    const bodyless = response.status === 204 || response.status === 304 || (response.status >= 100 && response.status < 200);
    // fetch decoded any content-encoding already: the copy's length and encoding headers would lie.
    const headers = new Headers(response.headers);
    headers.delete('content-encoding');
    headers.delete('content-length');
    return new Response(bodyless ? null : body, { status: response.status, statusText: response.statusText, headers });
  };
}

async function readBounded(response: Response, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new OidcHttpRefused(`answer too large (${declared} bytes, at most ${maxBytes})`);
  }
  if (!response.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new OidcHttpRefused(`answer too large (more than ${maxBytes} bytes)`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
