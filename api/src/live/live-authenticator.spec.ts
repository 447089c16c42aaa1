import { describe, expect, it } from 'vitest';
import type { SessionPrincipal } from '../auth/session-principal.js';
import { liveSessionRefusal } from './live-authenticator.js';

const userId = '00000000-0000-4000-8000-000000000001';
const now = new Date('2026-06-01T12:00:00Z');
const principal = (changes: Partial<SessionPrincipal> = {}): SessionPrincipal => ({
  sessionId: '00000000-0000-4000-8000-000000000002',
  sessionExpiresAt: new Date(now.getTime() + 3600_000),
  revokedAt: null,
  stepUpAt: null,
  userId,
  email: 'op@test.local',
  role: 'read_only',
  status: 'active',
  totpEnabled: false,
  requireTotp: false,
  authMethod: 'password',
  ssoProviderId: null,
  passwordSessionRefused: false,
  ...changes,
});

describe('liveSessionRefusal', () => {
  it('lets a live session of any role with devices.view through', () => {
    for (const role of ['super_admin', 'soc_operator', 'read_only'] as const)
      expect(liveSessionRefusal(principal({ role }), userId, now)).toBeNull();
    expect(liveSessionRefusal(principal({ requireTotp: true, totpEnabled: true }), userId, now)).toBeNull();
    // An SSO session's second factor is the identity provider's.
    expect(liveSessionRefusal(principal({ requireTotp: true, authMethod: 'sso' }), userId, now)).toBeNull();
  });

  it.each([
    ['a missing session', null, 'AUTH_SESSION_REVOKED'],
    ["another user's session", principal({ userId: '00000000-0000-4000-8000-000000000009' }), 'AUTH_SESSION_REVOKED'],
    ['a revoked session', principal({ revokedAt: new Date(now.getTime() - 1000) }), 'AUTH_SESSION_REVOKED'],
    ['an expired session', principal({ sessionExpiresAt: now }), 'AUTH_SESSION_REVOKED'],
    ['a disabled user', principal({ status: 'disabled' }), 'AUTH_USER_DISABLED'],
    ['pending TOTP setup', principal({ requireTotp: true }), 'AUTH_TOTP_SETUP_REQUIRED'],
    ['a password session while SSO is mandatory', principal({ passwordSessionRefused: true }), 'AUTH_SSO_REQUIRED'],
  ])('refuses %s', (_what, value, code) => {
    expect(liveSessionRefusal(value, userId, now)?.code).toBe(code);
  });
});
