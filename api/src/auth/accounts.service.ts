import { Injectable } from '@nestjs/common';
import type { Role } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/pg-errors.js';
import type { UserIdentityEntity } from './user-identity.entity.js';
import { UserIdentitiesRepository } from './user-identities.repository.js';
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
  /** Has a local password (accounts created by an SSO login have none). */
  hasPassword: boolean;
}

/** An SSO identity linked to an account. */
export interface AccountIdentity {
  id: string;
  userId: string;
  providerId: string;
  subject: string;
  lastLoginAt: Date | null;
  createdAt: Date;
}

export interface NewSsoAccount {
  email: string;
  displayName: string;
  role: Role;
  providerId: string;
  subject: string;
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
    hasPassword: user.passwordHash !== null && user.passwordHash !== undefined,
  };
}

function toIdentity(identity: UserIdentityEntity): AccountIdentity {
  return {
    id: identity.id,
    userId: identity.userId,
    providerId: identity.providerId,
    subject: identity.subject,
    lastLoginAt: identity.lastLoginAt ?? null,
    createdAt: identity.createdAt,
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
    private readonly identities: UserIdentitiesRepository,
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

  async findByEmail(email: string): Promise<Account | null> {
    const user = await this.users.findByEmail(email);
    return user ? toAccount(user) : null;
  }

  /** The identities linked to each of the accounts (for the users list). */
  async identitiesOf(userIds: string[]): Promise<Map<string, AccountIdentity[]>> {
    const byUser = new Map<string, AccountIdentity[]>();
    for (const identity of await this.identities.listForUsers(userIds)) {
      const list = byUser.get(identity.userId) ?? [];
      list.push(toIdentity(identity));
      byUser.set(identity.userId, list);
    }
    return byUser;
  }

  /** The account an IdP subject is linked to (matching is by the subject, never the e-mail). */
  async findBySsoIdentity(providerId: string, subject: string): Promise<{ account: Account; identity: AccountIdentity } | null> {
    const identity = await this.identities.findBySubject(providerId, subject);
    if (!identity) return null;
    const user = await this.users.findById(identity.userId);
    return user ? { account: toAccount(user), identity: toIdentity(identity) } : null;
  }

  findIdentityForUser(userId: string, providerId: string): Promise<AccountIdentity | null> {
    return this.identities.findForUser(userId, providerId).then((identity) => (identity ? toIdentity(identity) : null));
  }

  /** Just-in-time creation at a first SSO login: an account without a password, and its identity. */
  async createSsoAccount(input: NewSsoAccount): Promise<{ account: Account; identity: AccountIdentity }> {
    let user: UserEntity;
    try {
      user = await this.users.insert({ email: input.email, displayName: input.displayName, role: input.role, passwordHash: null });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_users_email')) throw new AppError('USER_EMAIL_TAKEN', `${input.email} already has an account`);
      throw error;
    }
    const identity = await this.identities.insert({
      userId: user.id,
      providerId: input.providerId,
      subject: input.subject,
      email: input.email,
    });
    return { account: toAccount(user), identity: toIdentity(identity) };
  }

  /**
   * A successful SSO login: the identity's and the account's last login. A password lock stays
   * (it guards the password; only an administrator clears it).
   */
  async recordSsoLogin(identityId: string, userId: string, email: string | null): Promise<void> {
    const at = new Date();
    await this.identities.touchLogin(identityId, email, at);
    await this.users.update(userId, { lastLoginAt: at });
  }

  /** An administrator links an IdP subject to an existing account (so an SSO login may use it). */
  async linkIdentity(userId: string, providerId: string, subject: string): Promise<AccountIdentity> {
    try {
      return toIdentity(await this.identities.insert({ userId, providerId, subject, email: null }));
    } catch (error) {
      if (isUniqueViolation(error, 'uq_user_identities_subject'))
        throw new AppError('SSO_IDENTITY_TAKEN', 'this subject is already linked to an operator');
      if (isUniqueViolation(error, 'uq_user_identities_user_provider'))
        throw new AppError('SSO_IDENTITY_TAKEN', 'this operator already has an identity at this provider: unlink it first');
      if (isForeignKeyViolation(error, 'fk_user_identities_provider')) throw new AppError('SSO_PROVIDER_NOT_FOUND');
      throw error;
    }
  }

  /** False when the identity does not exist or belongs to another account. */
  unlinkIdentity(userId: string, identityId: string): Promise<boolean> {
    return this.identities.delete(userId, identityId);
  }
}
