import { Injectable } from '@nestjs/common';
import type { ListRemoteSessionsQuery } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { RemoteSessionEntity } from './remote-session.entity.js';

export type NewRemoteSession = Omit<RemoteSessionEntity, 'closedAt' | 'endReason' | 'recordingBytes' | 'recordingSha256'>;

@Injectable()
export class RemoteSessionsRepository {
  constructor(private readonly db: Database) {}

  private sessions() {
    return this.db.manager().getRepository(RemoteSessionEntity);
  }

  async insert(values: NewRemoteSession): Promise<RemoteSessionEntity> {
    const row = this.sessions().create({ ...values, closedAt: null, endReason: null, recordingBytes: '0', recordingSha256: null });
    await this.sessions().insert(row);
    return row;
  }

  findById(id: string): Promise<RemoteSessionEntity | null> {
    return this.sessions().findOne({ where: { id } });
  }

  /** Closes an open session; false when it was closed already (the first close wins). */
  async close(
    id: string,
    values: Pick<RemoteSessionEntity, 'closedAt' | 'endReason' | 'recordingBytes' | 'recordingSha256'>,
  ): Promise<boolean> {
    const result = await this.sessions()
      .createQueryBuilder()
      .update()
      .set(values)
      .where('id = :id AND closed_at IS NULL', { id })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /** Sessions an instance left open when it stopped without closing them (a crash): closed on its next start. */
  async closeAbandoned(instanceId: string, at: Date): Promise<number> {
    const result = await this.sessions()
      .createQueryBuilder()
      .update()
      .set({ closedAt: at, endReason: 'server_shutdown' })
      .where('instance_id = :instanceId AND closed_at IS NULL', { instanceId })
      .execute();
    return result.affected ?? 0;
  }

  async list(query: ListRemoteSessionsQuery): Promise<{ items: RemoteSessionEntity[]; total: number }> {
    const qb = this.sessions().createQueryBuilder('s');
    if (query.deviceId) qb.andWhere('s.device_id = :deviceId', { deviceId: query.deviceId });
    if (query.userId) qb.andWhere('s.user_id = :userId', { userId: query.userId });
    if (query.kind) qb.andWhere('s.kind = :kind', { kind: query.kind });
    const [items, total] = await qb
      .orderBy('s.opened_at', 'DESC')
      .addOrderBy('s.id', 'DESC')
      .take(query.limit)
      .skip(query.offset)
      .getManyAndCount();
    return { items, total };
  }

  /** Terminal recordings older than `before` (retention): their files go, the rows stay with their hash. */
  expiredRecordings(before: Date, limit: number): Promise<RemoteSessionEntity[]> {
    return this.sessions()
      .createQueryBuilder('s')
      .where('s.recording_file IS NOT NULL AND s.closed_at IS NOT NULL AND s.opened_at < :before', { before })
      .orderBy('s.opened_at', 'ASC')
      .take(limit)
      .getMany();
  }

  async forgetRecordingFile(id: string): Promise<void> {
    await this.sessions().update({ id }, { recordingFile: null });
  }
}
