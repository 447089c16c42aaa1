import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import type { Role } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { likePattern } from '../db/pg-errors.js';
import { RecoveryCodeEntity } from './recovery-code.entity.js';
import { UserEntity } from './user.entity.js';

export interface LoginFailureOutcome {
  failedLoginCount: number;
  isLocked: boolean;
  backoffUntil: Date | null;
}

@Injectable()
export class UsersRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(UserEntity);
  }

  findById(id: string): Promise<UserEntity | null> {
    return this.repo().findOne({ where: { id } });
  }

  findByEmail(email: string): Promise<UserEntity | null> {
    return this.repo().findOne({ where: { email: email.toLowerCase() } });
  }

  count(): Promise<number> {
    return this.repo().count();
  }

  /**
   * Locks the active Super Admins (in id order, inside the caller's transaction) and counts them:
   * two concurrent demotions of the last two then run one after the other, and the second sees one.
   */
  async lockAndCountActiveSuperAdmins(): Promise<number> {
    const rows: Array<{ id: string }> = await this.db
      .manager()
      .query(`SELECT id FROM users WHERE role = 'super_admin' AND status = 'active' ORDER BY id FOR UPDATE`);
    return rows.length;
  }

  insert(values: Pick<UserEntity, 'email' | 'displayName' | 'role' | 'passwordHash'>): Promise<UserEntity> {
    return this.repo().save(this.repo().create({ ...values, email: values.email.toLowerCase(), status: 'active' }));
  }

  async update(id: string, values: Partial<Omit<UserEntity, 'id' | 'createdAt' | 'updatedAt'>>): Promise<void> {
    await this.repo().update({ id }, values);
  }

  async list(filter: { role?: Role; status?: 'active' | 'disabled'; q?: string; limit: number; offset: number }) {
    const qb = this.repo().createQueryBuilder('u').orderBy('u.email', 'ASC').take(filter.limit).skip(filter.offset);
    if (filter.role) qb.andWhere('u.role = :role', { role: filter.role });
    if (filter.status) qb.andWhere('u.status = :status', { status: filter.status });
    if (filter.q) qb.andWhere(`(u.email ILIKE :q ESCAPE '\\' OR u.display_name ILIKE :q ESCAPE '\\')`, { q: likePattern(filter.q) });
    const [items, total] = await qb.getManyAndCount();
    return { items, total };
  }

  /** Counts a failed login atomically and applies backoff / lock from the old count. */
  async recordLoginFailure(
    id: string,
    policy: { backoffAfter: number; lockAfter: number; backoffBaseMs: number },
  ): Promise<LoginFailureOutcome> {
    const [rows]: [Array<{ failed_login_count: number; is_locked: boolean; backoff_until: Date | null }>, number] = await this.db
      .manager()
      .query(
        `UPDATE users
          SET failed_login_count = failed_login_count + 1,
              is_locked = is_locked OR failed_login_count + 1 >= $2,
              backoff_until = CASE WHEN failed_login_count + 1 >= $3
                THEN now() + make_interval(secs => $4::double precision * power(2, LEAST(failed_login_count + 1 - $3, 16)) / 1000)
                ELSE NULL END
        WHERE id = $1
        RETURNING failed_login_count, is_locked, backoff_until`,
        [id, policy.lockAfter, policy.backoffAfter, policy.backoffBaseMs],
      );
    const row = rows[0];
    if (!row) throw new Error(`user ${id} vanished while recording a failed login`);
    return { failedLoginCount: row.failed_login_count, isLocked: row.is_locked, backoffUntil: row.backoff_until };
  }

  async clearLoginFailures(id: string, loggedIn: boolean): Promise<void> {
    await this.repo().update(
      { id },
      { failedLoginCount: 0, backoffUntil: null, isLocked: false, ...(loggedIn ? { lastLoginAt: new Date() } : {}) },
    );
  }

  /** Accepts a TOTP time step once: false when it (or a later one) was used already. */
  async consumeTotpStep(id: string, step: number): Promise<boolean> {
    const result = await this.db
      .manager()
      .createQueryBuilder()
      .update(UserEntity)
      .set({ totpLastStep: String(step) })
      .where('id = :id AND (totp_last_step IS NULL OR totp_last_step < :step)', { id, step })
      .execute();
    return (result.affected ?? 0) === 1;
  }

  async replaceRecoveryCodes(userId: string, codeHashes: string[]): Promise<void> {
    const repo = this.db.manager().getRepository(RecoveryCodeEntity);
    await repo.delete({ userId });
    if (codeHashes.length) await repo.insert(codeHashes.map((codeHash) => ({ userId, codeHash, usedAt: null })));
  }

  /** Uses a recovery code once: false when unknown or already used. */
  async consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    const result = await this.db
      .manager()
      .getRepository(RecoveryCodeEntity)
      .update({ userId, codeHash, usedAt: IsNull() }, { usedAt: new Date() });
    return (result.affected ?? 0) === 1;
  }

  countUnusedRecoveryCodes(userId: string): Promise<number> {
    return this.db
      .manager()
      .getRepository(RecoveryCodeEntity)
      .count({ where: { userId, usedAt: IsNull() } });
  }
}
