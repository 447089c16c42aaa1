import { Check, Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';

/** When a device went online or offline (offline = three missed heartbeat intervals). */
@Entity({ name: 'device_connectivity_events' })
@Check('chk_device_connectivity_events_state', `"state" IN ('online', 'offline')`)
@Index('ix_device_connectivity_events_device_at', ['deviceId', 'at'])
export class ConnectivityEventEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_device_connectivity_events_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ type: 'text' })
  state!: 'online' | 'offline';

  @Column({ type: 'timestamptz' })
  at!: Date;
}
