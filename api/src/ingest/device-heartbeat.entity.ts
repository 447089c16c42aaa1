import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

/** One row per (device, sequence): replays hit the primary key and are counted as duplicates. */
@Entity({ name: 'device_heartbeats' })
export class DeviceHeartbeatEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_device_heartbeats_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @PrimaryColumn({ type: 'bigint' })
  sequence!: string;

  @Column({ name: 'sent_at', type: 'timestamptz' })
  sentAt!: Date;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;

  @Column({ name: 'uptime_seconds', type: 'double precision' })
  uptimeSeconds!: number;

  @Column({ name: 'agent_version', type: 'text' })
  agentVersion!: string;
}
