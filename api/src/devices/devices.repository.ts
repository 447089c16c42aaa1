import { Injectable } from '@nestjs/common';
import type { DEVICE_SORTS, DeviceStatus, DeviceType, OrganizationKind } from '@xspectre/contracts';

type DeviceSort = (typeof DEVICE_SORTS)[number];
import { Database } from '../db/database.js';
import { likePattern } from '../db/pg-errors.js';
import { DeviceEntity } from './device.entity.js';

export type DeviceRow = DeviceEntity & { organizationKind: OrganizationKind };

export interface DeviceFilter {
  organizationId?: string;
  siteId?: string;
  type?: DeviceType;
  status?: DeviceStatus;
  connectivity?: 'online' | 'offline' | 'never_seen';
  quarantined?: 'true' | 'false';
  q?: string;
  sort: DeviceSort;
  limit: number;
  offset: number;
}

const SORT_COLUMNS: Record<string, string> = {
  name: 'd.name',
  lastHeartbeatAt: 'd.last_heartbeat_at',
  createdAt: 'd.created_at',
  status: 'd.status',
};

@Injectable()
export class DevicesRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(DeviceEntity);
  }

  private withKind() {
    return this.repo()
      .createQueryBuilder('d')
      .innerJoin('organizations', 'o', 'o.id = d.organization_id')
      .addSelect('o.kind', 'organization_kind');
  }

  private static attachKind(entities: DeviceEntity[], raw: Array<{ organization_kind: OrganizationKind }>): DeviceRow[] {
    return entities.map((d, i) => Object.assign(d, { organizationKind: raw[i]!.organization_kind }));
  }

  async findById(id: string, options: { lock?: boolean } = {}): Promise<DeviceRow | null> {
    const qb = this.withKind().where('d.id = :id', { id });
    if (options.lock) qb.setLock('pessimistic_write', undefined, ['d']);
    const { entities, raw } = await qb.getRawAndEntities();
    return DevicesRepository.attachKind(entities, raw)[0] ?? null;
  }

  findByCredentialHash(credentialHash: string): Promise<DeviceEntity | null> {
    return this.repo().findOne({ where: { credentialHash } });
  }

  findByWgPublicKey(wgPublicKey: string): Promise<DeviceEntity | null> {
    return this.repo().findOne({ where: { wgPublicKey } });
  }

  /** `offlineAfterMs`: silence after which an active device counts as offline (the connectivity filter). */
  async list(filter: DeviceFilter, offlineAfterMs: number): Promise<{ items: DeviceRow[]; total: number }> {
    const descending = filter.sort.startsWith('-');
    const column = SORT_COLUMNS[filter.sort.replace(/^-/, '')]!;
    const qb = this.withKind()
      .orderBy(column, descending ? 'DESC' : 'ASC', descending ? 'NULLS LAST' : 'NULLS FIRST')
      .addOrderBy('d.id', 'ASC')
      .limit(filter.limit)
      .offset(filter.offset);
    const onlineSince = new Date(Date.now() - offlineAfterMs);
    if (filter.connectivity === 'never_seen') qb.andWhere('d.last_heartbeat_at IS NULL');
    if (filter.connectivity === 'online') qb.andWhere(`d.status = 'active' AND d.last_heartbeat_at >= :onlineSince`, { onlineSince });
    if (filter.connectivity === 'offline')
      qb.andWhere(`d.last_heartbeat_at IS NOT NULL AND (d.status <> 'active' OR d.last_heartbeat_at < :onlineSince)`, { onlineSince });
    if (filter.quarantined === 'true') qb.andWhere('d.quarantined_at IS NOT NULL');
    if (filter.quarantined === 'false') qb.andWhere('d.quarantined_at IS NULL');
    if (filter.organizationId) qb.andWhere('d.organization_id = :organizationId', { organizationId: filter.organizationId });
    if (filter.siteId) qb.andWhere('d.site_id = :siteId', { siteId: filter.siteId });
    if (filter.type) qb.andWhere('d.type = :type', { type: filter.type });
    if (filter.status) qb.andWhere('d.status = :status', { status: filter.status });
    if (filter.q) {
      qb.andWhere(`(d.name ILIKE :q ESCAPE '\\' OR d.hostname ILIKE :q ESCAPE '\\' OR d.overlay_address ILIKE :q ESCAPE '\\')`, {
        q: likePattern(filter.q),
      });
    }
    const [{ entities, raw }, total] = await Promise.all([qb.getRawAndEntities(), qb.getCount()]);
    return { items: DevicesRepository.attachKind(entities, raw), total };
  }

  insert(values: { name: string; organizationId: string; siteId: string; type: DeviceType }): Promise<DeviceEntity> {
    return this.repo().save(this.repo().create({ ...values, status: 'pending' }));
  }

  async update(id: string, values: Partial<Omit<DeviceEntity, 'id' | 'createdAt' | 'updatedAt'>>): Promise<void> {
    await this.repo().update({ id }, values);
  }

  /** Peers the hub must have: every active device with a key and an address. */
  async activeTunnelPeers(): Promise<Array<{ publicKey: string; address: string }>> {
    const rows: Array<{ wg_public_key: string; overlay_address: string }> = await this.db
      .manager()
      .query(
        `SELECT wg_public_key, overlay_address FROM devices WHERE status = 'active' AND wg_public_key IS NOT NULL AND overlay_address IS NOT NULL`,
      );
    return rows.map((r) => ({ publicKey: r.wg_public_key, address: r.overlay_address }));
  }

  /** Stores the hub's counters; returns the devices whose latest handshake changed. */
  async recordTunnelStats(
    stats: Array<{ publicKey: string; lastHandshakeAt: Date | null; rxBytes: number; txBytes: number; endpoint: string | null }>,
  ): Promise<Array<{ id: string; lastHandshakeAt: Date | null }>> {
    if (stats.length === 0) return [];
    // `before` is the same table read in the statement's snapshot, i.e. the values before this update.
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [rows]: [Array<{ id: string; last_handshake_at: Date | null; handshake_changed: boolean }>, number] = await this.db
      .manager()
      .query(
        `UPDATE devices d
          SET last_handshake_at = s.handshake, rx_bytes = s.rx, tx_bytes = s.tx, tunnel_endpoint = s.endpoint
         FROM jsonb_to_recordset($1::jsonb) AS s(key text, handshake timestamptz, rx bigint, tx bigint, endpoint text),
              devices before
        WHERE d.wg_public_key = s.key AND before.id = d.id
        RETURNING d.id, d.last_handshake_at, before.last_handshake_at IS DISTINCT FROM s.handshake AS handshake_changed`,
        [
          JSON.stringify(
            stats.map((s) => ({ key: s.publicKey, handshake: s.lastHandshakeAt, rx: s.rxBytes, tx: s.txBytes, endpoint: s.endpoint })),
          ),
        ],
      );
    return rows.filter((r) => r.handshake_changed).map((r) => ({ id: r.id, lastHandshakeAt: r.last_handshake_at }));
  }
}
