import type { Role } from '@xspectre/contracts';

/** The session, its user and the policy: everything the guard needs, in one query. */
export interface SessionPrincipal {
  sessionId: string;
  sessionExpiresAt: Date;
  revokedAt: Date | null;
  stepUpAt: Date | null;
  userId: string;
  email: string;
  role: Role;
  status: 'active' | 'disabled';
  totpEnabled: boolean;
  requireTotp: boolean;
  authMethod: 'password' | 'sso';
  ssoProviderId: string | null;
  /** SSO is mandatory and this user is no break-glass account: a password session is refused. */
  passwordSessionRefused: boolean;
}
