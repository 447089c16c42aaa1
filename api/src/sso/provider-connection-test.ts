import { randomBytes } from 'node:crypto';
import type { OidcSettings, SamlSettings } from '@xspectre/contracts';
import { IdpHttpError, idpRequest } from './idp-http.js';
import { discoverOidc, OidcDiscoveryError } from './oidc/oidc-discovery.js';
import { certificateExpiry, parseIdpCertificate } from './saml/idp-certificate.js';
import { IDP_METADATA_MAX_BYTES, IdpMetadataError, parseIdpMetadata } from './saml/idp-metadata.js';

/** One line of a connection test, as contracts/src/sso.ts SsoConnectionTestSchema has it. */
export interface ConnectionCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** Answers of the SSO URL, JWKS and token endpoint are read up to this much. */
const PROBE_MAX_BYTES = 256 * 1024;

/**
 * SAML: the metadata (when a URL is set) still names the stored entity id and certificates, each
 * certificate is within its validity, and the SSO URL answers HTTP at all.
 */
export async function checkSamlProvider(settings: SamlSettings, timeoutMs: number, now = new Date()): Promise<ConnectionCheck[]> {
  const checks: ConnectionCheck[] = [];
  if (settings.metadataUrl) checks.push(...(await checkSamlMetadata(settings, settings.metadataUrl, timeoutMs)));
  settings.idpCertificates.forEach((text, index) => {
    const name = `signing certificate ${index + 1}`;
    const certificate = parseIdpCertificate(text);
    if (!certificate) return checks.push({ name, ok: false, detail: 'does not parse as an X.509 certificate' });
    const subject = certificate.subject.split('\n').join(', ');
    const until = new Date(certificate.validTo).toISOString().slice(0, 10);
    if (new Date(certificate.validFrom) > now) {
      return checks.push({
        name,
        ok: false,
        detail: `${subject}: not valid before ${new Date(certificate.validFrom).toISOString().slice(0, 10)}`,
      });
    }
    const expiry = certificateExpiry(certificate, now);
    if (expiry.expired) return checks.push({ name, ok: false, detail: `${subject}: expired ${expiry.days} days ago (${until})` });
    checks.push({ name, ok: true, detail: `${subject}: expires in ${expiry.days} days (${until})` });
  });
  checks.push(await probeUrl('SSO URL', settings.ssoUrl, timeoutMs));
  return checks;
}

async function checkSamlMetadata(settings: SamlSettings, url: string, timeoutMs: number): Promise<ConnectionCheck[]> {
  const name = 'metadata URL';
  let xml: string;
  try {
    const answer = await idpRequest({
      url,
      timeoutMs,
      maxBytes: IDP_METADATA_MAX_BYTES,
      accept: 'application/samlmetadata+xml, application/xml, text/xml',
    });
    if (answer.status !== 200) return [{ name, ok: false, detail: `answered HTTP ${answer.status}` }];
    xml = answer.body;
  } catch (error) {
    if (error instanceof IdpHttpError) return [{ name, ok: false, detail: error.message }];
    throw error;
  }
  let metadata;
  try {
    metadata = parseIdpMetadata(xml);
  } catch (error) {
    if (error instanceof IdpMetadataError) return [{ name, ok: false, detail: error.message }];
    throw error;
  }
  const checks: ConnectionCheck[] = [{ name, ok: true, detail: 'reachable, SAML 2.0 IdP metadata' }];
  checks.push(
    metadata.idpEntityId === settings.idpEntityId
      ? { name: 'metadata entity id', ok: true, detail: `matches ${settings.idpEntityId}` }
      : {
          name: 'metadata entity id',
          ok: false,
          detail: `the metadata names ${metadata.idpEntityId}, the provider has ${settings.idpEntityId}`,
        },
  );
  const stored = new Set(settings.idpCertificates.map(derBase64).filter((d): d is string => d !== null));
  const published = new Set(metadata.idpCertificates.map(derBase64).filter((d): d is string => d !== null));
  const missingHere = [...published].filter((d) => !stored.has(d)).length;
  const goneThere = [...stored].filter((d) => !published.has(d)).length;
  const problems = [
    ...(missingHere ? [`${missingHere} published certificate(s) are not stored here (a rollover? import the metadata again)`] : []),
    ...(goneThere ? [`${goneThere} stored certificate(s) are no longer published`] : []),
  ];
  checks.push({
    name: 'metadata certificates',
    ok: problems.length === 0,
    detail: problems.length ? problems.join('; ') : `the ${published.size} published signing certificate(s) are the stored ones`,
  });
  return checks;
}

function derBase64(text: string): string | null {
  return parseIdpCertificate(text)?.raw.toString('base64') ?? null;
}

/** Any HTTP answer below 500 counts: an SSO endpoint answers a bare GET with an error page or a 302. */
async function probeUrl(name: string, url: string, timeoutMs: number): Promise<ConnectionCheck> {
  try {
    const answer = await idpRequest({ url, timeoutMs, maxBytes: PROBE_MAX_BYTES });
    return answer.status < 500
      ? { name, ok: true, detail: `answered HTTP ${answer.status}` }
      : { name, ok: false, detail: `answered HTTP ${answer.status}` };
  } catch (error) {
    if (error instanceof IdpHttpError)
      return { name, ok: error.tooLarge, detail: error.tooLarge ? 'answered (a large page)' : error.message };
    throw error;
  }
}

export interface OidcClientUnderTest {
  settings: OidcSettings;
  /** Unsealed; null for a public client. */
  clientSecret: string | null;
  /** The registered redirect URI; null when API_CONSOLE_URL is unset (the token check is skipped). */
  redirectUri: string | null;
}

/**
 * OIDC: discovery, the keys, PKCE S256, and the client credentials: a made-up authorization code
 * is sent to the token endpoint, which answers `invalid_grant` once it accepted the client and
 * `invalid_client` when the id or secret is wrong.
 */
export async function checkOidcProvider(client: OidcClientUnderTest, timeoutMs: number): Promise<ConnectionCheck[]> {
  const checks: ConnectionCheck[] = [];
  let discovery;
  try {
    discovery = await discoverOidc(client.settings.issuer, { timeoutMs });
  } catch (error) {
    if (error instanceof OidcDiscoveryError) return [{ name: 'discovery', ok: false, detail: error.message }];
    throw error;
  }
  checks.push({ name: 'discovery', ok: true, detail: `issuer ${discovery.issuer}` });
  checks.push(await checkJwks(discovery.jwksUri, timeoutMs));
  const methods = discovery.codeChallengeMethods;
  checks.push(
    methods === null
      ? { name: 'PKCE S256', ok: true, detail: 'not advertised by the discovery document; sign-ins send S256 all the same' }
      : methods.includes('S256')
        ? { name: 'PKCE S256', ok: true, detail: 'supported' }
        : { name: 'PKCE S256', ok: false, detail: `the provider offers ${methods.join(', ') || 'no method'}, not S256` },
  );
  if (client.redirectUri === null) {
    checks.push({ name: 'client credentials', ok: false, detail: 'not tested: API_CONSOLE_URL is unset, so there is no redirect URI' });
    return checks;
  }
  checks.push(await checkClient(client, client.redirectUri, discovery.tokenEndpoint, discovery.tokenEndpointAuthMethods, timeoutMs));
  return checks;
}

async function checkJwks(jwksUri: string, timeoutMs: number): Promise<ConnectionCheck> {
  const name = 'signing keys (JWKS)';
  try {
    const answer = await idpRequest({ url: jwksUri, timeoutMs, maxBytes: PROBE_MAX_BYTES, accept: 'application/json' });
    if (answer.status !== 200) return { name, ok: false, detail: `${jwksUri} answered HTTP ${answer.status}` };
    const keys = (JSON.parse(answer.body) as { keys?: unknown }).keys;
    if (!Array.isArray(keys) || keys.length === 0) return { name, ok: false, detail: `${jwksUri} lists no keys` };
    return { name, ok: true, detail: `${keys.length} key(s)` };
  } catch (error) {
    if (error instanceof IdpHttpError) return { name, ok: false, detail: error.message };
    if (error instanceof SyntaxError || error instanceof TypeError)
      return { name, ok: false, detail: `${jwksUri} did not answer with a JSON key set` };
    throw error;
  }
}

async function checkClient(
  client: OidcClientUnderTest,
  redirectUri: string,
  tokenEndpoint: string,
  authMethods: string[] | null,
  timeoutMs: number,
): Promise<ConnectionCheck> {
  const name = 'client credentials';
  const form: Record<string, string> = {
    grant_type: 'authorization_code',
    code: `xs-connection-test-${randomBytes(16).toString('hex')}`,
    redirect_uri: redirectUri,
    code_verifier: randomBytes(32).toString('base64url'),
  };
  const headers: Record<string, string> = {};
  const clientId = client.settings.clientId;
  // The same choice as the sign-in (oidc/oidc-protocol.ts): basic unless the provider offers only post.
  const offered = authMethods ?? ['client_secret_basic'];
  if (client.clientSecret === null) form.client_id = clientId;
  else if (offered.includes('client_secret_post') && !offered.includes('client_secret_basic')) {
    Object.assign(form, { client_id: clientId, client_secret: client.clientSecret });
  } else {
    headers.authorization = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(client.clientSecret)}`).toString('base64')}`;
  }
  let answer;
  try {
    answer = await idpRequest({
      url: tokenEndpoint,
      method: 'POST',
      form,
      headers,
      timeoutMs,
      maxBytes: PROBE_MAX_BYTES,
      accept: 'application/json',
    });
  } catch (error) {
    if (error instanceof IdpHttpError) return { name, ok: false, detail: `the token endpoint: ${error.message}` };
    throw error;
  }
  let error: string | null = null;
  try {
    const body = JSON.parse(answer.body) as { error?: unknown };
    error = typeof body.error === 'string' ? body.error.slice(0, 100) : null;
  } catch {
    /* not JSON: judged by the status below */
  }
  if (error === 'invalid_grant')
    return { name, ok: true, detail: 'accepted (a made-up code was refused with invalid_grant, as it should be)' };
  if (error === 'invalid_client' || answer.status === 401) {
    return {
      name,
      ok: false,
      detail:
        client.clientSecret === null
          ? 'the token endpoint refused the client (invalid_client): it needs a client secret, or the client id is wrong'
          : 'the token endpoint refused the client (invalid_client): the client id or secret is wrong',
    };
  }
  if (error === 'invalid_redirect_uri')
    return { name, ok: false, detail: `the provider does not know the redirect URI: register ${redirectUri}` };
  if (answer.status === 200) return { name, ok: false, detail: 'the token endpoint accepted a made-up code' };
  return { name, ok: false, detail: `the token endpoint answered HTTP ${answer.status}${error ? ` (${error})` : ''}, not invalid_grant` };
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 wants client id and secret encoded for Basic. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}
