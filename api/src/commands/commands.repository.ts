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

/**
 * Who fetches a command: the device's own agent, or its recovery stick (`recovery.*` actions,
 * contracts/src/recovery.ts). Neither poll ever hands out the other's commands.
 */
export type CommandAudience = 'agent' | 'recovery';

/** SQL condition on the action column (a constant: no input reaches it). */
function audienceFilter(audience: CommandAudience, column = 'c.action'): string {
  return audience === 'recovery' ? `${column} LIKE 'recovery.%'` : `${column} NOT LIKE 'recovery.%'`;
}

/** Whether an action is for this audience (the same rule as audienceFilter). */
export function isForAudience(action: string, audience: CommandAudience): boolean {
  return action.startsWith('recovery.') === (audience === 'recovery');
}

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
   * `newlyDelivered` are the ids that were `queued` until this statement (their status changed).
   */
  async deliver(
    deviceId: string,
    audience: CommandAudience = 'agent',
  ): Promise<{ commands: CommandEntity[]; newlyDelivered: Set<string> }> {
    // The CTE reads each row's status before the update (RETURNING sees only the new one); its
    // row locks make a concurrent report wait, and a row it changed meanwhile is re-checked.
    const [rows]: [Array<{ id: string; previous: string }>, number] = await this.db.manager().query(
      `WITH due AS (
         SELECT c.id, c.status FROM commands c JOIN devices d ON d.id = c.device_id
          WHERE c.device_id = $1 AND d.status = 'active' AND d.quarantined_at IS NULL
            AND c.status IN ${OPEN} AND c.expires_at > now() AND ${audienceFilter(audience)}
          FOR UPDATE OF c)
       UPDATE commands c SET status = 'delivered', delivered_at = COALESCE(c.delivered_at, now())
         FROM due WHERE c.id = due.id
       RETURNING c.id, due.status AS previous`,
      [deviceId],
    );
    if (rows.length === 0) return { commands: [], newlyDelivered: new Set() };
    const commands = await this.repo().findBy(rows.map((r) => ({ id: r.id })));
    commands.sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime() || a.id.localeCompare(b.id));
    return { commands, newlyDelivered: new Set(rows.filter((r) => r.previous === 'queued').map((r) => r.id)) };
  }

  /** The device's `keys.pin` commands for this key, as status and whether their time ran out (what a key announcement needs to know). */
  async keyPins(deviceId: string, keyId: string): Promise<Array<{ status: CommandStatus; expired: boolean }>> {
    return this.db
      .manager()
      .query(
        `SELECT status, expires_at <= now() AS expired FROM commands WHERE device_id = $1 AND action = 'keys.pin' AND params->>'keyId' = $2`,
        [deviceId, keyId],
      );
  }

  /** Open commands per device, for these devices (a device with none is absent from the map). */
  async countOpen(deviceIds: string[]): Promise<Map<string, number>> {
    const rows = await this.db.rows<{ id: string; n: number }>(
      `SELECT device_id::text AS id, COUNT(*)::int AS n FROM commands
        WHERE device_id = ANY($1::uuid[]) AND status IN ${OPEN} AND expires_at > now() AND ${audienceFilter('agent', 'action')}
        GROUP BY device_id`,
      [deviceIds],
    );
    return new Map(rows.map((r) => [r.id, r.n]));
  }

  /** Lifecycle fields only: what was signed never changes. */
  async update(id: string, values: CommandProgress): Promise<void> {
    await this.repo().update({ id }, values);
  }

  /**
   * An open command the API will not hand out (its stored envelope is not a valid signed
   * command: a row edited in the database) becomes `rejected` with the reason; null if it was
   * no longer open.
   */
  async refuseStored(id: string, reason: string): Promise<CommandEntity | null> {
    const [rows]: [Array<{ id: string }>, number] = await this.db.manager().query(
      `UPDATE commands SET status = 'rejected', reason = $2, finished_at = now()
        WHERE id = $1 AND status IN ${OPEN}
        RETURNING id`,
      [id, reason],
    );
    return rows.length === 0 ? null : this.repo().findOneBy({ id });
  }

  /** Open commands past their expiry become `expired`; returns them as they are now. */
  async expireOverdue(): Promise<CommandEntity[]> {
    const [rows]: [Array<{ id: string }>, number] = await this.db.manager().query(
      `UPDATE commands SET status = 'expired', finished_at = expires_at
        WHERE status IN ${OPEN} AND expires_at <= now()
        RETURNING id`,
    );
    if (rows.length === 0) return [];
    // Final: nothing changes them between the update and this read.
    return this.repo().findBy(rows.map((r) => ({ id: r.id })));
  }

  /** Drops the output of these actions' commands that finished before `before`; the ids whose output went. */
  async eraseOutput(actions: readonly string[], before: Date): Promise<string[]> {
    const rows = await this.db.changedRows<{ id: string }>(
      `UPDATE commands SET stdout = NULL, stderr = NULL
        WHERE action = ANY($1) AND finished_at < $2 AND (stdout IS NOT NULL OR stderr IS NOT NULL)
       RETURNING id`,
      [actions, before],
    );
    return rows.map((r) => r.id);
  }
}
