import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import type { DockerReport, ServiceState, SystemMetrics } from '@xspectre/contracts';
import type { ContainerStats } from './container-stats.js';

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

  /** Without the containers' cpuPercent and memoryBytes when `containerStats` is set (see withContainerStats). */
  @Column({ type: 'jsonb', nullable: true })
  docker!: DockerReport | null;

  /** The sequence of the heartbeat whose `services` document is stored (the write's unchanged-document check). */
  @Column({ name: 'services_sequence', type: 'bigint', nullable: true })
  servicesSequence!: string | null;

  /** The sequence of the heartbeat whose `docker` document is stored. */
  @Column({ name: 'docker_sequence', type: 'bigint', nullable: true })
  dockerSequence!: string | null;

  /** Per container of `docker`, in order: [cpuPercent, memoryBytes] (they change every heartbeat). */
  @Column({ name: 'container_stats', type: 'jsonb', nullable: true })
  containerStats!: ContainerStats | null;
}
