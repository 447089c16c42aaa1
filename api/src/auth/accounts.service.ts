import { Injectable } from '@nestjs/common';
import type { Role } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { isUniqueViolation } from '../db/pg-errors.js';
import { PasswordHasher } from './password-hasher.js';
import type { UserEntity } from './user.entity.js';
import { UsersRepository } from './users.repository.js';

/** An operator account as other features see it: no password hash, no TOTP secrets. */
export interface Account {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  status: 'active' | 'disabled';
  totpEnabled: boolean;
  /** TOTP setup started (a pending secret is stored) but not enabled yet. */
  totpSetupPending: boolean;
  isLocked: boolean;
  failedLoginCount: number;
  backoffUntil: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
}

export interface AccountFilter {
  role?: Role;
  status?: 'active' | 'disabled';
  q?: string;
  limit: number;
  offset: number;
}

export interface NewAccount {
  email: string;
  displayName: string;
  role: Role;
  password: string;
}

export interface AccountChanges {
  displayName?: string;
  role?: Role;
  status?: 'active' | 'disabled';
}

function toAccount(user: UserEntity): Account {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    status: user.status,
    totpEnabled: user.totpEnabled,
    totpSetupPending: Boolean(user.totpPendingSecretSealed),
    isLocked: user.isLocked,
    failedLoginCount: user.failedLoginCount,
    // A freshly inserted row carries only the columns the insert returned.
    backoffUntil: user.backoffUntil ?? null,
    lastLoginAt: user.lastLoginAt ?? null,
    createdAt: user.createdAt,
  };
}

/**
 * The operator accounts, for the users feature (administration) and the bootstrap admin. Auth
 * owns the accounts because signing in reads and writes them; everything here runs in the
 * caller's transaction (the request's unit of work, or one the caller opened).
 */
@Injectable()
export class AccountsService {
  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
  ) {}

  async list(filter: AccountFilter): Promise<{ items: Account[]; total: number }> {
    const { items, total } = await this.users.list(filter);
    return { items: items.map(toAccount), total };
  }

  async findById(id: string): Promise<Account | null> {
    const user = await this.users.findById(id);
    return user ? toAccount(user) : null;
  }

  count(): Promise<number> {
    return this.users.count();
  }

  /** Hashes the password and inserts an active account; USER_EMAIL_TAKEN when the email has one. */
  async create(input: NewAccount): Promise<Account> {
    const passwordHash = await this.hasher.hash(input.password);
    try {
      return toAccount(await this.users.insert({ email: input.email, displayName: input.displayName, role: input.role, passwordHash }));
    } catch (error) {
      if (isUniqueViolation(error, 'uq_users_email')) throw new AppError('USER_EMAIL_TAKEN', `${input.email} already has an account`);
      throw error;
    }
  }

  async update(id: string, changes: AccountChanges): Promise<void> {
    await this.users.update(id, changes);
  }

  /** Clears the failed-login count, backoff and lock (an administrator's unlock; not a login). */
  async unlock(id: string): Promise<void> {
    await this.users.clearLoginFailures(id, false);
  }

  /**
   * Locks the active Super Admins (in id order, inside the caller's transaction) and counts them:
   * two concurrent demotions of the last two then run one after the other, and the second sees one.
   */
  lockAndCountActiveSuperAdmins(): Promise<number> {
    return this.users.lockAndCountActiveSuperAdmins();
  }
}
