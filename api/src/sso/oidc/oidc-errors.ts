import { AuthorizationResponseError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';
import { SsoFailure } from '../sso-assertion.js';

/** openid-client's (oauth4webapi's) error codes this module tells apart. */
const NETWORK_CODES = new Set([
  'OAUTH_TIMEOUT',
  'OAUTH_ABORT',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
  'OAUTH_RESPONSE_IS_NOT_JSON',
  'OAUTH_HTTP_REQUEST_FORBIDDEN',
  'OAUTH_REQUEST_PROTOCOL_FORBIDDEN',
]);

/**
 * What went wrong while exchanging the code and checking the ID token, as an SsoFailure:
 * the provider unreachable or answering with an error is idp_error; a token that does not verify
 * (signature, iss, aud, azp, exp, nbf, unknown key) is token_invalid; the nonce and a missing
 * sub have reasons of their own. The detail names the check, never a token.
 */
export function failureFromGrantError(error: unknown): SsoFailure {
  if (error instanceof SsoFailure) return error;
  if (error instanceof ResponseBodyError) {
    return new SsoFailure('idp_error', `token endpoint answered ${error.status} ${error.error}${describe(error.error_description)}`);
  }
  if (error instanceof AuthorizationResponseError)
    return new SsoFailure('idp_error', `authorization error ${error.error}${describe(error.error_description)}`);
  if (error instanceof WWWAuthenticateChallengeError)
    return new SsoFailure('idp_error', `token endpoint answered ${error.status} with a challenge`);
  if (!(error instanceof Error)) return new SsoFailure('idp_error', 'unexpected failure');
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? error.cause : null;
  const causeDetail = (cause as { cause?: { claim?: unknown } } | null)?.cause;
  const what = `${error.message}${cause && cause.message !== error.message ? `: ${cause.message}` : ''}`.slice(0, 300);
  if (typeof code !== 'string' || NETWORK_CODES.has(code)) {
    // fetch failures reach here as TypeError('fetch failed') or openid-client's "something went wrong".
    return new SsoFailure('idp_error', `the provider could not be reached or answered badly: ${what}`);
  }
  if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && causeDetail?.claim === 'nonce') {
    return new SsoFailure('nonce_mismatch', 'the ID token nonce is not the one this sign-in sent');
  }
  if (code === 'OAUTH_INVALID_RESPONSE' && cause && /"sub"/.test(cause.message)) {
    return new SsoFailure('subject_missing', cause.message.slice(0, 300));
  }
  return new SsoFailure('token_invalid', `${code}: ${what}`);
}

/** An error_description for the audit detail: bounded and printable. */
export function describe(text: unknown): string {
  return typeof text === 'string' && text ? ` (${text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)})` : '';
}
