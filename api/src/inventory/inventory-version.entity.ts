import { Column, Entity, ForeignKey, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { HardwareChange, InventoryReport } from '@xspectre/contracts';

/** A device's hardware inventory each time it changed: version 1 is the first report. */
@Entity({ name: 'device_inventory_versions' })
@Unique('uq_device_inventory_versions_device_version', ['deviceId', 'version'])
export class InventoryVersionEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_device_inventory_versions_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ type: 'integer' })
  version!: number;

  /** The heartbeat that carried it. */
  @Column({ type: 'bigint' })
  sequence!: string;

  @Column({ name: 'reported_at', type: 'timestamptz' })
  reportedAt!: Date;

  /** SHA-256 of the canonical inventory JSON: an unchanged report adds no version. */
  @Column({ type: 'text' })
  hash!: string;

  @Column({ type: 'jsonb' })
  inventory!: InventoryReport;

  @Column({ name: 'fingerprint_matches', type: 'boolean', nullable: true })
  fingerprintMatches!: boolean | null;

  @Column({ type: 'jsonb', default: () => `'[]'` })
  changes!: HardwareChange[];
}
