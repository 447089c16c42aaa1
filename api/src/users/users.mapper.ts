import type { User } from '@xspectre/contracts';
import type { Account } from '../auth/accounts.service.js';

export function toUserDto(user: Account): User {
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
  };
}
