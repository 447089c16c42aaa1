import { describe, expect, it } from 'vitest';
import { OidcSettingsSchema } from '@xspectre/contracts';
import { SsoFailure } from '../sso-assertion.js';
import { assertionFromClaims } from './oidc-claims.js';
import { boundedFetch, isLoopbackUrl } from './oidc-http.js';

const now = 1_800_000_000;
const settings = OidcSettingsSchema.parse({ issuer: 'https://idp.example', clientId: 'c', mfaAcrValues: ['urn:mfa'] });
const base = { sub: 'u1', iat: now, email: 'ana@example.com' };
const checks = { reauthenticate: false, now, skewSeconds: 60 };

function reason(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (error instanceof SsoFailure) return error.reason;
    throw error;
  }
}

describe('assertionFromClaims', () => {
  it('maps sub, a verified e-mail, name, groups, auth_time and MFA evidence', () => {
    const a = assertionFromClaims(
      settings,
      { ...base, name: ' Ana ', groups: ['a', 7, '', 'b'], auth_time: now - 5, amr: ['pwd', 'mfa'] },
      checks,
    );
    expect(a).toEqual({
      subject: 'u1',
      email: 'ana@example.com',
      displayName: 'Ana',
      groups: ['a', 'b'],
      authenticatedAt: new Date((now - 5) * 1000),
      mfa: true,
    });
  });

  it('says nothing of MFA without amr and acr; judges acr by the configured values', () => {
    expect(assertionFromClaims(settings, base, checks).mfa).toBeNull();
    expect(assertionFromClaims(settings, { ...base, amr: ['pwd'] }, checks).mfa).toBe(false);
    expect(assertionFromClaims(settings, { ...base, acr: 'urn:mfa' }, checks).mfa).toBe(true);
    expect(assertionFromClaims(settings, { ...base, acr: '0' }, checks).mfa).toBe(false);
  });

  it('drops an e-mail marked unverified (false or "false")', () => {
    expect(assertionFromClaims(settings, { ...base, email_verified: false }, checks).email).toBeNull();
    expect(assertionFromClaims(settings, { ...base, email_verified: 'false' }, checks).email).toBeNull();
    expect(assertionFromClaims(settings, { ...base, email_verified: true }, checks).email).toBe('ana@example.com');
  });

  it('reads the configured group claim, one string as one group', () => {
    const roles = { ...settings, groupsClaim: 'roles' };
    expect(assertionFromClaims(roles, { ...base, roles: 'Console.Admin', groups: ['x'] }, checks).groups).toEqual(['Console.Admin']);
  });

  it('refuses an Entra group overage (groups by reference) rather than reading it as no groups', () => {
    const overage = { ...base, _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: 'https://graph' } } };
    expect(reason(() => assertionFromClaims(settings, overage, checks))).toBe('unknown_group');
  });

  it('refuses a missing or unusable sub, an iat in the future and a non-numeric auth_time', () => {
    expect(reason(() => assertionFromClaims(settings, { ...base, sub: '' }, checks))).toBe('subject_missing');
    expect(reason(() => assertionFromClaims(settings, { ...base, sub: 'x'.repeat(256) }, checks))).toBe('subject_missing');
    expect(reason(() => assertionFromClaims(settings, { ...base, iat: now + 61 }, checks))).toBe('token_invalid');
    expect(reason(() => assertionFromClaims(settings, { ...base, iat: now + 60 }, checks))).toBe('accepted');
    expect(reason(() => assertionFromClaims(settings, { ...base, auth_time: '1' }, checks))).toBe('token_invalid');
  });

  it('holds the tenant and hosted domain whenever configured', () => {
    const entra = { ...settings, tenantId: 't1' };
    expect(reason(() => assertionFromClaims(entra, { ...base, tid: 't1' }, checks))).toBe('accepted');
    expect(reason(() => assertionFromClaims(entra, { ...base, tid: 't2' }, checks))).toBe('tenant_refused');
    expect(reason(() => assertionFromClaims(entra, base, checks))).toBe('tenant_refused');
    const google = { ...settings, hostedDomain: 'example.com' };
    expect(reason(() => assertionFromClaims(google, { ...base, hd: 'Example.com' }, checks))).toBe('accepted');
    expect(reason(() => assertionFromClaims(google, { ...base, hd: 'gmail.com' }, checks))).toBe('hosted_domain_refused');
    expect(reason(() => assertionFromClaims(google, base, checks))).toBe('hosted_domain_refused');
  });

  it('requires a fresh auth_time for a step-up (max_age=0 within the clock skew)', () => {
    const stepUp = { ...checks, reauthenticate: true };
    expect(reason(() => assertionFromClaims(settings, base, stepUp))).toBe('reauth_missing');
    expect(reason(() => assertionFromClaims(settings, { ...base, auth_time: now - 61 }, stepUp))).toBe('reauth_missing');
    expect(reason(() => assertionFromClaims(settings, { ...base, auth_time: now - 30 }, stepUp))).toBe('accepted');
  });
});

describe('boundedFetch', () => {
  it('allows plain http to this machine only', async () => {
    expect(isLoopbackUrl(new URL('http://127.0.0.1:8080'))).toBe(true);
    expect(isLoopbackUrl(new URL('http://[::1]:8080'))).toBe(true);
    expect(isLoopbackUrl(new URL('http://idp.example'))).toBe(false);
    const fetchWith = boundedFetch(1000);
    await expect(
      fetchWith('http://idp.example/.well-known/openid-configuration', { method: 'GET', headers: {}, body: undefined, redirect: 'manual' }),
    ).rejects.toThrow(/only https/);
    await expect(fetchWith('file:///etc/passwd', { method: 'GET', headers: {}, body: undefined, redirect: 'manual' })).rejects.toThrow(
      /only https/,
    );
  });
});
