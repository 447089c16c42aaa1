import { IdpHttpError, idpRequest } from '../idp-http.js';

/** Discovery documents larger than this are refused (real ones are a few KiB). */
export const OIDC_DISCOVERY_MAX_BYTES = 256 * 1024;

export interface OidcDiscovery {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  /** `code_challenge_methods_supported`; null when the document does not say (Entra ID). */
  codeChallengeMethods: string[] | null;
  /** `token_endpoint_auth_methods_supported`; null when not said (the default is client_secret_basic). */
  tokenEndpointAuthMethods: string[] | null;
}

/** Discovery failed: `unreachable` (no usable HTTP answer) or `invalid` (an answer that is not a usable document). */
export class OidcDiscoveryError extends Error {
  override name = 'OidcDiscoveryError';
  constructor(
    readonly kind: 'unreachable' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/** Where an issuer's discovery document is (OpenID Connect Discovery 1.0 §4: a trailing / is not doubled). */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Fetches and checks an issuer's discovery document: the `issuer` it names must be exactly the
 * one asked for (otherwise ID tokens would be checked against another issuer), and the endpoints
 * a login needs must be http(s) URLs.
 */
export async function discoverOidc(issuer: string, options: { timeoutMs: number }): Promise<OidcDiscovery> {
  const url = discoveryUrl(issuer);
  let answer;
  try {
    answer = await idpRequest({ url, timeoutMs: options.timeoutMs, maxBytes: OIDC_DISCOVERY_MAX_BYTES, accept: 'application/json' });
  } catch (error) {
    if (error instanceof IdpHttpError) throw new OidcDiscoveryError(error.tooLarge ? 'invalid' : 'unreachable', `${url}: ${error.message}`);
    throw error;
  }
  if (answer.status !== 200) throw new OidcDiscoveryError('unreachable', `${url} answered HTTP ${answer.status}`);
  let doc: unknown;
  try {
    doc = JSON.parse(answer.body);
  } catch {
    throw new OidcDiscoveryError('invalid', `${url} did not answer with JSON`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new OidcDiscoveryError('invalid', `${url} did not answer with a JSON object`);
  const fields = doc as Record<string, unknown>;
  if (fields.issuer !== issuer) {
    const named = typeof fields.issuer === 'string' ? `"${fields.issuer.slice(0, 300)}"` : 'no issuer';
    throw new OidcDiscoveryError(
      'invalid',
      `the discovery document names ${named}, not "${issuer}": use the issuer exactly as the document spells it`,
    );
  }
  return {
    issuer,
    authorizationEndpoint: endpoint(fields, 'authorization_endpoint'),
    tokenEndpoint: endpoint(fields, 'token_endpoint'),
    jwksUri: endpoint(fields, 'jwks_uri'),
    codeChallengeMethods: stringList(fields, 'code_challenge_methods_supported'),
    tokenEndpointAuthMethods: stringList(fields, 'token_endpoint_auth_methods_supported'),
  };
}

function endpoint(fields: Record<string, unknown>, name: string): string {
  const value = fields[name];
  if (typeof value !== 'string' || value.length > 2048) throw new OidcDiscoveryError('invalid', `the discovery document has no ${name}`);
  try {
    const url = new URL(value);
    if (url.protocol === 'https:' || url.protocol === 'http:') return value;
  } catch {
    /* reported below */
  }
  throw new OidcDiscoveryError('invalid', `the discovery document's ${name} is not an http(s) URL`);
}

function stringList(fields: Record<string, unknown>, name: string): string[] | null {
  const value = fields[name];
  if (value === undefined) return null;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new OidcDiscoveryError('invalid', `the discovery document's ${name} is not a list of strings`);
  }
  return (value as string[]).slice(0, 50).map((v) => v.slice(0, 100));
}
