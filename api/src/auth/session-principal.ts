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
}
