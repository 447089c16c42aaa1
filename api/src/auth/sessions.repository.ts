import { Injectable } from '@nestjs/common';
import { IsNull, Not } from 'typeorm';
import type { Role } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { RefreshTokenEntity } from './refresh-token.entity.js';
import { SessionEntity } from './session.entity.js';
import type { SessionPrincipal } from './session-principal.js';

@Injectable()
export class SessionsRepository {
  constructor(private readonly db: Database) {}

  async create(input: {
    userId: string;
    expiresAt: Date;
    stepUpAt: Date | null;
    sourceIp: string | null;
    userAgent: string | null;
    authMethod: 'password' | 'sso';
    identityProviderId: string | null;
  }): Promise<SessionEntity> {
    const repo = this.db.manager().getRepository(SessionEntity);
    return repo.save(repo.create({ ...input, revokedAt: null, revokeReason: null }));
  }

  async findPrincipal(sessionId: string): Promise<SessionPrincipal | null> {
    // Every operator request runs it (the access guard): prepared once per connection.
    const rows = await this.db.prepared<Record<string, unknown>>(
      'xs_session_principal',
      `SELECT s.id AS session_id, s.expires_at, s.revoked_at, s.step_up_at, s.auth_method, s.identity_provider_id,
              u.id AS user_id, u.email, u.role, u.status, u.totp_enabled,
              COALESCE(p.require_totp, false) AS require_totp,
              COALESCE(p.sso_required AND NOT (u.id = ANY (p.sso_break_glass_user_ids)), false) AS password_refused
         FROM auth_sessions s JOIN users u ON u.id = s.user_id
         LEFT JOIN security_settings p ON p.id = 1
        WHERE s.id = $1`,
      [sessionId],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      sessionId: r.session_id as string,
      sessionExpiresAt: r.expires_at as Date,
      revokedAt: (r.revoked_at as Date | null) ?? null,
      stepUpAt: (r.step_up_at as Date | null) ?? null,
      userId: r.user_id as string,
      email: r.email as string,
      role: r.role as Role,
      status: r.status as 'active' | 'disabled',
      totpEnabled: r.totp_enabled as boolean,
      requireTotp: r.require_totp as boolean,
      authMethod: r.auth_method as 'password' | 'sso',
      ssoProviderId: (r.identity_provider_id as string | null) ?? null,
      passwordSessionRefused: (r.password_refused as boolean) && r.auth_method === 'password',
    };
  }

  async setStepUp(sessionId: string, at: Date): Promise<void> {
    await this.db.manager().getRepository(SessionEntity).update({ id: sessionId }, { stepUpAt: at });
  }

  async revoke(sessionId: string, reason: string): Promise<void> {
    await this.db
      .manager()
      .getRepository(SessionEntity)
      .update({ id: sessionId, revokedAt: IsNull() }, { revokedAt: new Date(), revokeReason: reason });
  }

  /** Ends every live session of a user, except `keepSessionId` when given. */
  async revokeAllForUser(userId: string, reason: string, keepSessionId?: string): Promise<number> {
    const where = { userId, revokedAt: IsNull(), ...(keepSessionId ? { id: Not(keepSessionId) } : {}) };
    const result = await this.db.manager().getRepository(SessionEntity).update(where, { revokedAt: new Date(), revokeReason: reason });
    return result.affected ?? 0;
  }

  async addRefreshToken(sessionId: string, tokenHash: string, expiresAt: Date): Promise<void> {
    await this.db.manager().getRepository(RefreshTokenEntity).insert({ sessionId, tokenHash, expiresAt, usedAt: null });
  }

  findRefreshToken(tokenHash: string): Promise<RefreshTokenEntity | null> {
    return this.db.manager().getRepository(RefreshTokenEntity).findOne({ where: { tokenHash } });
  }

  /** Marks a refresh token used; false when another request used it first (a race is reuse too). */
  async consumeRefreshToken(id: string): Promise<boolean> {
    const result = await this.db.manager().getRepository(RefreshTokenEntity).update({ id, usedAt: IsNull() }, { usedAt: new Date() });
    return (result.affected ?? 0) === 1;
  }

  /** Housekeeping for the worker: sessions past their end, and their tokens (cascade). */
  async purgeExpired(olderThan: Date): Promise<number> {
    const result = await this.db
      .manager()
      .createQueryBuilder()
      .delete()
      .from(SessionEntity)
      .where('expires_at < :olderThan OR revoked_at < :olderThan', { olderThan })
      .execute();
    return result.affected ?? 0;
  }
}
