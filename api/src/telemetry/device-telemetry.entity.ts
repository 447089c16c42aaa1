import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import type { DockerReport, ServiceState, SystemMetrics } from '@xspectre/contracts';

/** The newest telemetry of each device (the time series lives in the partitioned metric_samples). */
@Entity({ name: 'device_telemetry' })
export class DeviceTelemetryEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_device_telemetry_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ type: 'bigint' })
  sequence!: string;

  @Column({ name: 'sampled_at', type: 'timestamptz' })
  sampledAt!: Date;

  @Column({ type: 'jsonb', nullable: true })
  metrics!: SystemMetrics | null;

  @Column({ type: 'jsonb', nullable: true })
  services!: ServiceState[] | null;

  @Column({ type: 'jsonb', nullable: true })
  docker!: DockerReport | null;
}
