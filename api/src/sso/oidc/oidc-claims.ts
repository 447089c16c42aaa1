import type { OidcSettings } from '@xspectre/contracts';
import { SsoFailure, type SsoAssertion } from '../sso-assertion.js';

/** Claims are the provider's words: every one is checked for type and bounded before use. */
const MAX_SUBJECT = 255; // OpenID Connect Core 1.0 §2: sub is at most 255 ASCII characters
const MAX_EMAIL = 320;
const MAX_DISPLAY_NAME = 200;
const MAX_GROUPS = 1000;
const MAX_GROUP = 256; // a role rule's group is at most this long (contracts/src/sso.ts)
const MAX_AMR = 20;

export interface ClaimChecks {
  /** A step-up: the provider must have asked for credentials just now (max_age=0). */
  reauthenticate: boolean;
  /** Seconds since the epoch, by our clock. */
  now: number;
  skewSeconds: number;
}

/**
 * The assertion an ID token's claims (already verified by openid-client: signature, iss, aud,
 * exp, nonce) give, after the checks openid-client does not make: iat not in the future, a
 * usable sub, the Entra tenant, the Google Workspace domain and, for a step-up, a fresh auth_time.
 */
export function assertionFromClaims(settings: OidcSettings, claims: Record<string, unknown>, checks: ClaimChecks): SsoAssertion {
  const { iat, sub, auth_time: authTime } = claims;
  if (typeof iat !== 'number' || iat > checks.now + checks.skewSeconds) {
    throw new SsoFailure(
      'token_invalid',
      `the ID token's iat (${String(iat)}) is in the future (clock skew allowed: ${checks.skewSeconds} s)`,
    );
  }
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT) {
    throw new SsoFailure('subject_missing', 'the ID token has no usable sub (a non-empty string of at most 255 characters)');
  }
  // Whenever configured, not only under the preset: a tenant or domain an administrator set must hold.
  if (settings.tenantId !== null && claims.tid !== settings.tenantId) {
    throw new SsoFailure('tenant_refused', `tid ${printable(claims.tid)} is not the configured tenant ${settings.tenantId}`);
  }
  if (settings.hostedDomain !== null && (typeof claims.hd !== 'string' || claims.hd.toLowerCase() !== settings.hostedDomain)) {
    throw new SsoFailure('hosted_domain_refused', `hd ${printable(claims.hd)} is not the configured domain ${settings.hostedDomain}`);
  }
  if (authTime !== undefined && typeof authTime !== 'number') {
    throw new SsoFailure('token_invalid', 'the ID token has an auth_time that is not a number');
  }
  if (checks.reauthenticate) {
    // max_age=0: the provider authenticated the user for this request, within the clock skew.
    if (authTime === undefined) throw new SsoFailure('reauth_missing', 'the ID token has no auth_time after prompt=login&max_age=0');
    if (authTime < checks.now - checks.skewSeconds) {
      throw new SsoFailure(
        'reauth_missing',
        `auth_time is ${checks.now - authTime} s old after prompt=login&max_age=0 (at most ${checks.skewSeconds} s allowed)`,
      );
    }
  }
  return {
    subject: sub,
    email: verifiedEmail(claims),
    displayName: typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, MAX_DISPLAY_NAME) : null,
    groups: groupsOf(claims, settings.groupsClaim),
    authenticatedAt: authTime === undefined ? null : new Date(authTime * 1000),
    mfa: mfaOf(claims, settings),
  };
}

/** `email` unless the provider says it is not verified (`email_verified` false, or "false" as some send). */
function verifiedEmail(claims: Record<string, unknown>): string | null {
  const { email, email_verified: verified } = claims;
  if (typeof email !== 'string' || email.length === 0 || email.length > MAX_EMAIL) return null;
  if (verified === false || verified === 'false') return null;
  return email.trim();
}

/**
 * The group claim's values: an array of strings, or one string. Entra ID sends a reference
 * instead (`_claim_names`) when a user is in too many groups: that is refused with a detail that
 * says so, rather than read as "no groups".
 */
function groupsOf(claims: Record<string, unknown>, claim: string): string[] {
  const value = claims[claim];
  if (value === undefined) {
    const names = claims._claim_names;
    if (typeof names === 'object' && names !== null && claim in names) {
      throw new SsoFailure(
        'unknown_group',
        `the provider sent the "${claim}" claim by reference (Entra ID group overage): emit group names or app roles instead`,
      );
    }
    return [];
  }
  const values = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  return values.filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= MAX_GROUP).slice(0, MAX_GROUPS);
}

/** null when the provider said nothing (neither amr nor acr); else whether either shows multi-factor. */
function mfaOf(claims: Record<string, unknown>, settings: OidcSettings): boolean | null {
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string').slice(0, MAX_AMR) : null;
  const acr = typeof claims.acr === 'string' ? claims.acr : null;
  if (amr === null && acr === null) return null;
  return (amr ?? []).some((method) => settings.mfaAmrValues.includes(method)) || (acr !== null && settings.mfaAcrValues.includes(acr));
}

/** A claim value for an audit detail: short, printable, never an object dump. */
function printable(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return JSON.stringify(text.replace(/[^\x20-\x7e]/g, '?').slice(0, 100));
}
