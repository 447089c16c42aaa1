import { Injectable } from '@nestjs/common';
import type { Role, User } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { AccountsService, type Account, type AccountFilter } from '../auth/accounts.service.js';
import { SessionsService } from '../auth/sessions.service.js';
import { StepUp } from '../auth/step-up.js';
import { BreakGlass } from '../auth/break-glass.js';
import { TotpService } from '../auth/totp.service.js';
import { SecuritySettingsService } from '../settings/security-settings.service.js';
import { AccessChanges } from '../redis/access-changes.js';
import { toUserDto } from './users.mapper.js';

@Injectable()
export class UsersService {
  constructor(
    private readonly accounts: AccountsService,
    private readonly sessions: SessionsService,
    private readonly totp: TotpService,
    private readonly stepUp: StepUp,
    private readonly settings: SecuritySettingsService,
    private readonly breakGlass: BreakGlass,
    private readonly accessChanges: AccessChanges,
  ) {}

  async list(filter: AccountFilter) {
    const { items, total } = await this.accounts.list(filter);
    return { items: await this.toDtos(items), total, limit: filter.limit, offset: filter.offset };
  }

  async get(id: string): Promise<User> {
    return this.toDto(await this.require(id));
  }

  async create(actor: Actor, input: { email: string; displayName: string; role: Role; password: string }): Promise<User> {
    // A new Super Admin could set up its own TOTP and step up: creating one is as critical as being one.
    if (input.role === 'super_admin') this.stepUp.require(actor);
    return this.toDto(await this.accounts.create(input));
  }

  /** Role and status changes apply on the user's next request: the guard reads them live. */
  async update(actor: Actor, id: string, changes: { displayName?: string; role?: Role; status?: 'active' | 'disabled' }): Promise<User> {
    const user = await this.require(id);
    const roleChanges = changes.role !== undefined && changes.role !== user.role;
    const statusChanges = changes.status !== undefined && changes.status !== user.status;
    if ((roleChanges || statusChanges) && id === actor.userId) throw new AppError('USER_SELF_CHANGE');
    // Named before the checks, so a refused change is audited under what it tried to do.
    if (roleChanges) requestContext.annotate({ action: 'user.role_change', details: { roleFrom: user.role, roleTo: changes.role } });
    else if (statusChanges) requestContext.annotate({ action: changes.status === 'disabled' ? 'user.disable' : 'user.enable' });
    // Granting or removing Super Admin (role or status) is critical; the check precedes every write.
    const superAdminChanges = roleChanges
      ? user.role === 'super_admin' || changes.role === 'super_admin'
      : statusChanges && user.role === 'super_admin';
    if (superAdminChanges) this.stepUp.require(actor);
    const losesSuperAdmin =
      user.role === 'super_admin' &&
      user.status === 'active' &&
      ((roleChanges && changes.role !== 'super_admin') || changes.status === 'disabled');
    if (losesSuperAdmin && (await this.accounts.lockAndCountActiveSuperAdmins()) <= 1) throw new AppError('USER_LAST_SUPER_ADMIN');
    if (losesSuperAdmin) await this.breakGlass.assertAnotherRemains(id);

    await this.accounts.update(id, changes);
    if (changes.status === 'disabled' && statusChanges) await this.sessions.revokeAllForUser(id, 'user_disabled');
    // Disabling ends the sessions (SessionsService announces it); a new role is checked again on every instance.
    else if (roleChanges) requestContext.afterCommit(() => this.accessChanges.announce({ kind: 'user', id }));
    return this.get(id);
  }

  async unlock(id: string): Promise<User> {
    const user = await this.require(id);
    await this.accounts.unlock(user.id);
    requestContext.annotate({ details: { wasLocked: user.isLocked, failedLoginCount: user.failedLoginCount } });
    return this.get(id);
  }

  /** For a lost phone: clears TOTP and recovery codes and ends the user's sessions. */
  async resetTotp(id: string): Promise<User> {
    const user = await this.require(id);
    if (!user.totpEnabled && !user.totpSetupPending) throw new AppError('AUTH_TOTP_NOT_ENABLED', `${user.email} has no TOTP to reset`);
    await this.totp.clear(id);
    await this.sessions.revokeAllForUser(id, 'totp_reset');
    return this.get(id);
  }

  /** An SSO login of (providerId, subject) then signs in as this user; SSO_IDENTITY_TAKEN when the subject is linked already. */
  async linkIdentity(id: string, input: { providerId: string; subject: string }): Promise<User> {
    const user = await this.require(id);
    requestContext.annotate({ resourceId: user.id, details: { email: user.email, providerId: input.providerId, subject: input.subject } });
    const identity = await this.accounts.linkIdentity(user.id, input.providerId, input.subject);
    requestContext.annotate({ details: { identityId: identity.id } });
    return this.get(id);
  }

  /** Ends the user's sessions but the caller's: one of them may have signed in through that identity. */
  async unlinkIdentity(actor: Actor, id: string, identityId: string): Promise<User> {
    const user = await this.require(id);
    const identity = (await this.accounts.identitiesOf([user.id])).get(user.id)?.find((i) => i.id === identityId);
    requestContext.annotate({
      resourceId: user.id,
      details: { email: user.email, identityId, providerId: identity?.providerId, subject: identity?.subject },
    });
    if (!identity || !(await this.accounts.unlinkIdentity(user.id, identityId))) {
      throw new AppError('SSO_IDENTITY_NOT_FOUND', `user ${id} has no SSO identity ${identityId}`);
    }
    const revokedSessions = await this.sessions.revokeAllForUser(user.id, 'sso_identity_unlinked', actor.sessionId);
    requestContext.annotate({ details: { revokedSessions } });
    return this.get(id);
  }

  private async require(id: string): Promise<Account> {
    const user = await this.accounts.findById(id);
    if (!user) throw new AppError('USER_NOT_FOUND', `no user with id ${id}`);
    return user;
  }

  private async toDto(account: Account): Promise<User> {
    return (await this.toDtos([account]))[0]!;
  }

  /** With how each signs in: linked SSO identities and whether the SSO policy names it break-glass. */
  private async toDtos(accounts: Account[]): Promise<User[]> {
    const identities = await this.accounts.identitiesOf(accounts.map((a) => a.id));
    const breakGlass = new Set((await this.settings.get()).ssoBreakGlassUserIds);
    return accounts.map((account) => toUserDto(account, identities.get(account.id) ?? [], breakGlass.has(account.id)));
  }
}
