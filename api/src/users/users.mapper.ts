import type { User } from '@xspectre/contracts';
import type { Account, AccountIdentity } from '../auth/accounts.service.js';

export function toUserDto(user: Account, identities: AccountIdentity[], breakGlass: boolean): User {
  const backoff = user.backoffUntil && user.backoffUntil > new Date() ? user.backoffUntil.toISOString() : null;
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    status: user.status,
    totpEnabled: user.totpEnabled,
    isLocked: user.isLocked,
    backoffUntil: backoff,
    failedLoginCount: user.failedLoginCount,
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
    signIn: {
      password: user.hasPassword,
      identities: identities.map((identity) => ({
        id: identity.id,
        providerId: identity.providerId,
        subject: identity.subject,
        lastLoginAt: identity.lastLoginAt?.toISOString() ?? null,
        createdAt: identity.createdAt.toISOString(),
      })),
      breakGlass,
    },
  };
}
