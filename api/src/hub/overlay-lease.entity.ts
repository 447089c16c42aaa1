import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Who holds (or held) an overlay address. A released address stays quarantined for a while
 * so a revoked device's packets or config can never reach its successor.
 */
@Entity({ name: 'overlay_leases' })
@Index('ix_overlay_leases_device', ['deviceId'])
// At most one live lease per address (partial unique index owned by the migration).
@Index('uq_overlay_leases_live_address', { synchronize: false })
export class OverlayLeaseEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  address!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_overlay_leases_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ type: 'text' })
  pool!: string;

  @Column({ name: 'allocated_at', type: 'timestamptz' })
  allocatedAt!: Date;

  @Column({ name: 'released_at', type: 'timestamptz', nullable: true })
  releasedAt!: Date | null;
}
