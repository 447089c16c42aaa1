import { Injectable } from '@nestjs/common';
import type { CommandAction, CommandStatus } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { CommandEntity } from './command.entity.js';

export interface CommandFilter {
  deviceId?: string;
  status?: CommandStatus;
  action?: CommandAction;
  limit: number;
  offset: number;
}

export type CommandProgress = Partial<
  Pick<
    CommandEntity,
    | 'status'
    | 'deliveredAt'
    | 'startedAt'
    | 'finishedAt'
    | 'exitCode'
    | 'stdout'
    | 'stderr'
    | 'stdoutTruncated'
    | 'stderrTruncated'
    | 'reason'
  >
>;

/** Statuses in which a command still waits for its device. */
const OPEN = `('queued', 'delivered')`;

@Injectable()
export class CommandsRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(CommandEntity);
  }

  async insert(
    values: Omit<
      CommandEntity,
      'deliveredAt' | 'startedAt' | 'finishedAt' | 'exitCode' | 'stdout' | 'stderr' | 'stdoutTruncated' | 'stderrTruncated' | 'reason'
    >,
  ): Promise<CommandEntity> {
    return this.repo().save(
      this.repo().create({
        ...values,
        deliveredAt: null,
        startedAt: null,
        finishedAt: null,
        exitCode: null,
        stdout: null,
        stderr: null,
        stdoutTruncated: false,
        stderrTruncated: false,
        reason: null,
      }),
    );
  }

  findById(id: string): Promise<CommandEntity | null> {
    return this.repo().findOne({ where: { id } });
  }

  /** The device's command, locked: status reports of one command are applied one at a time. */
  findForDeviceLocked(id: string, deviceId: string): Promise<CommandEntity | null> {
    return this.repo()
      .createQueryBuilder('c')
      .where('c.id = :id AND c.device_id = :deviceId', { id, deviceId })
      .setLock('pessimistic_write')
      .getOne();
  }

  async list(filter: CommandFilter): Promise<{ items: CommandEntity[]; total: number }> {
    const where: Partial<Pick<CommandEntity, 'deviceId' | 'status' | 'action'>> = {};
    if (filter.deviceId) where.deviceId = filter.deviceId;
    if (filter.status) where.status = filter.status;
    if (filter.action) where.action = filter.action;
    const [items, total] = await this.repo().findAndCount({
      where,
      order: { issuedAt: 'DESC', id: 'ASC' },
      take: filter.limit,
      skip: filter.offset,
    });
    return { items, total };
  }

  /**
   * Hands out the device's unexpired open commands, oldest first, and marks them delivered.
   * Re-checks the device here (the agent's credential check may be cached): a device that is not
   * active, or is quarantined, gets nothing. A command delivered before and not yet reported is
   * handed out again (its answer may have been lost); the agent recognises it by its id.
   */
  async deliver(deviceId: string): Promise<CommandEntity[]> {
    const [rows]: [Array<{ id: string }>, number] = await this.db.manager().query(
      `UPDATE commands c SET status = 'delivered', delivered_at = COALESCE(c.delivered_at, now())
         FROM devices d
        WHERE c.device_id = $1 AND d.id = c.device_id AND d.status = 'active' AND d.quarantined_at IS NULL
          AND c.status IN ${OPEN} AND c.expires_at > now()
        RETURNING c.id`,
      [deviceId],
    );
    if (rows.length === 0) return [];
    const commands = await this.repo().findBy(rows.map((r) => ({ id: r.id })));
    return commands.sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime() || a.id.localeCompare(b.id));
  }

  async countOpen(deviceId: string): Promise<number> {
    const [row]: Array<{ n: number }> = await this.db
      .manager()
      .query(`SELECT COUNT(*)::int AS n FROM commands WHERE device_id = $1 AND status IN ${OPEN} AND expires_at > now()`, [deviceId]);
    return row!.n;
  }

  /** Lifecycle fields only: what was signed never changes. */
  async update(id: string, values: CommandProgress): Promise<void> {
    await this.repo().update({ id }, values);
  }

  /** Open commands past their expiry become `expired`; returns them. */
  async expireOverdue(): Promise<Array<{ id: string; deviceId: string }>> {
    const [rows]: [Array<{ id: string; device_id: string }>, number] = await this.db.manager().query(
      `UPDATE commands SET status = 'expired', finished_at = expires_at
        WHERE status IN ${OPEN} AND expires_at <= now()
        RETURNING id, device_id`,
    );
    return rows.map((r) => ({ id: r.id, deviceId: r.device_id }));
  }
}
