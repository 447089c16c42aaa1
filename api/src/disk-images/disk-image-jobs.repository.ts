import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { DiskImageJobState } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { isUniqueViolation } from '../db/pg-errors.js';
import { AppError } from '../common/errors/app-error.js';
import { DiskImageJobEntity } from './disk-image-job.entity.js';

const OPEN = `"state" NOT IN ('succeeded', 'failed')`;

/** Take / restore jobs (disk_image_jobs): one open per device, moved only from the state it is in. */
@Injectable()
export class DiskImageJobsRepository {
  constructor(private readonly db: Database) {}

  private jobs() {
    return this.db.manager().getRepository(DiskImageJobEntity);
  }

  /** The new job; DISK_IMAGE_JOB_IN_PROGRESS when the device has an open one (uq_disk_image_jobs_open). */
  async create(
    values: Pick<DiskImageJobEntity, 'deviceId' | 'kind' | 'state' | 'imageName' | 'params' | 'requestedBy' | 'trigger'>,
    now: Date,
  ): Promise<DiskImageJobEntity> {
    const row = this.jobs().create({
      ...values,
      id: randomUUID(),
      error: null,
      rebootCommandId: null,
      recoveryCommandId: null,
      returnCommandId: null,
      waitingSince: now,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    });
    try {
      return await this.jobs().save(row);
    } catch (error) {
      if (isUniqueViolation(error, 'uq_disk_image_jobs_open')) throw new AppError('DISK_IMAGE_JOB_IN_PROGRESS');
      throw error;
    }
  }

  find(id: string): Promise<DiskImageJobEntity | null> {
    return this.jobs().findOneBy({ id });
  }

  /** The open job, locked for the caller's transaction (a report and a poll do not move it at once). */
  async openFor(deviceId: string, options: { lock?: boolean } = {}): Promise<DiskImageJobEntity | null> {
    const qb = this.jobs().createQueryBuilder('j').where(`j.device_id = :deviceId AND j.${OPEN}`, { deviceId });
    if (options.lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  /** The open job, else the newest one. */
  async currentFor(deviceId: string): Promise<DiskImageJobEntity | null> {
    return (await this.openFor(deviceId)) ?? this.jobs().findOne({ where: { deviceId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** The job that queued this command (any of its three), locked. */
  byCommand(commandId: string): Promise<DiskImageJobEntity | null> {
    return this.jobs()
      .createQueryBuilder('j')
      .where('j.reboot_command_id = :c OR j.recovery_command_id = :c OR j.return_command_id = :c', { c: commandId })
      .setLock('pessimistic_write')
      .getOne();
  }

  /** Open jobs waiting since before `before` in one of `states` (the worker's timeout sweep). */
  waitingSince(states: DiskImageJobState[], before: Date): Promise<DiskImageJobEntity[]> {
    return this.jobs()
      .createQueryBuilder('j')
      .where('j.state IN (:...states) AND j.waiting_since < :before', { states, before })
      .orderBy('j.waiting_since')
      .limit(500)
      .getMany();
  }

  /** The status of a command a job queued (the worker has no command service; null: no such command). */
  async commandStatus(commandId: string): Promise<{ action: string; status: string } | null> {
    const rows: Array<{ action: string; status: string }> = await this.db
      .manager()
      .query(`SELECT action, status FROM commands WHERE id = $1`, [commandId]);
    return rows[0] ?? null;
  }

  async update(id: string, changes: Partial<Omit<DiskImageJobEntity, 'params'>>, now: Date): Promise<void> {
    await this.jobs().update({ id }, { ...changes, updatedAt: now });
  }
}
