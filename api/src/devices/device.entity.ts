import { Check, Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import type { DeviceModules, DeviceStatus, DeviceType, HardwareFacts } from '@xspectre/contracts';

@Entity({ name: 'devices' })
@Check('chk_devices_type', `"type" IN ('scanner', 'server')`)
@Check('chk_devices_status', `"status" IN ('pending', 'active', 'revoked', 'retired')`)
@Unique('uq_devices_overlay_address', ['overlayAddress'])
@Unique('uq_devices_wg_public_key', ['wgPublicKey'])
@Unique('uq_devices_credential_hash', ['credentialHash'])
@Unique('uq_devices_pending_credential_hash', ['pendingCredentialHash'])
@Index('ix_devices_organization', ['organizationId'])
@Index('ix_devices_site', ['siteId'])
// Names are unique per organization, case-insensitively (expression index owned by the migration).
@Index('uq_devices_organization_name_lower', { synchronize: false })
// One index per list sort, with its direction and NULLS placement (owned by migrations/1795560000000-FleetReads.ts).
@Index('ix_devices_sort_name', { synchronize: false })
@Index('ix_devices_sort_name_desc', { synchronize: false })
@Index('ix_devices_sort_last_heartbeat', { synchronize: false })
@Index('ix_devices_sort_last_heartbeat_desc', { synchronize: false })
@Index('ix_devices_sort_created', { synchronize: false })
@Index('ix_devices_sort_created_desc', { synchronize: false })
@Index('ix_devices_sort_enrolled', { synchronize: false })
@Index('ix_devices_sort_enrolled_desc', { synchronize: false })
@Index('ix_devices_sort_status', { synchronize: false })
@Index('ix_devices_sort_status_desc', { synchronize: false })
@Index('ix_devices_sort_cpu', { synchronize: false })
@Index('ix_devices_sort_cpu_desc', { synchronize: false })
@Index('ix_devices_sort_mem', { synchronize: false })
@Index('ix_devices_sort_mem_desc', { synchronize: false })
@Index('ix_devices_sort_disk', { synchronize: false })
@Index('ix_devices_sort_disk_desc', { synchronize: false })
export class DeviceEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @ForeignKey('OrganizationEntity', { name: 'fk_devices_organization', onDelete: 'RESTRICT' })
  @Column({ name: 'organization_id', type: 'uuid' })
  organizationId!: string;

  @ForeignKey('SiteEntity', { name: 'fk_devices_site', onDelete: 'RESTRICT' })
  @Column({ name: 'site_id', type: 'uuid' })
  siteId!: string;

  @Column({ type: 'text' })
  type!: DeviceType;

  @Column({ type: 'text', default: 'pending' })
  status!: DeviceStatus;

  @Column({ type: 'text', nullable: true })
  hostname!: string | null;

  @Column({ name: 'agent_version', type: 'text', nullable: true })
  agentVersion!: string | null;

  /** SHA-256(serial | first MAC | CPU id | installation salt), bound at enrollment. */
  @Column({ type: 'text', nullable: true })
  fingerprint!: string | null;

  /** Kept so the API can recompute the fingerprint from later inventory reports. */
  @Column({ name: 'installation_salt', type: 'text', nullable: true })
  installationSalt!: string | null;

  /** Set when a report no longer reproduces the fingerprint: no commands until accepted. */
  @Column({ name: 'quarantined_at', type: 'timestamptz', nullable: true })
  quarantinedAt!: Date | null;

  @Column({ name: 'quarantine_reason', type: 'text', nullable: true })
  quarantineReason!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  hardware!: HardwareFacts | null;

  @Column({ name: 'local_ips', type: 'jsonb', nullable: true })
  localIps!: string[] | null;

  @Column({ type: 'jsonb', nullable: true })
  macs!: string[] | null;

  @Column({ name: 'wg_public_key', type: 'text', nullable: true })
  wgPublicKey!: string | null;

  /** The pinned SSH host key (from enrollment): terminal and file sessions require it, never trust on first use. */
  @Column({ name: 'ssh_host_key', type: 'text', nullable: true })
  sshHostKey!: string | null;

  /** A different host key the device presented (inventory or a connection), until a Super Admin accepts it. */
  @Column({ name: 'ssh_host_key_pending', type: 'text', nullable: true })
  sshHostKeyPending!: string | null;

  @Column({ name: 'ssh_host_key_pending_at', type: 'timestamptz', nullable: true })
  sshHostKeyPendingAt!: Date | null;

  @Column({ name: 'ssh_host_key_pending_source', type: 'text', nullable: true })
  sshHostKeyPendingSource!: 'inventory' | 'connection' | null;

  @Column({ name: 'overlay_address', type: 'text', nullable: true })
  overlayAddress!: string | null;

  /** SHA-256 of the device credential; null once revoked. */
  @Column({ name: 'credential_hash', type: 'text', nullable: true })
  credentialHash!: string | null;

  /**
   * SHA-256 of the credential a running `credential.rotate` made: accepted beside the current one
   * until the first request with it, which makes it the credential (and drops the old one).
   */
  @Column({ name: 'pending_credential_hash', type: 'text', nullable: true })
  pendingCredentialHash!: string | null;

  @Column({ name: 'enrolled_at', type: 'timestamptz', nullable: true })
  enrolledAt!: Date | null;

  @Column({ name: 'last_heartbeat_at', type: 'timestamptz', nullable: true })
  lastHeartbeatAt!: Date | null;

  @Column({ name: 'last_sequence', type: 'bigint', nullable: true })
  lastSequence!: string | null;

  /**
   * The headline numbers of the device's latest metrics (device_telemetry.metrics), copied by the
   * heartbeat group commit so the list sorts by an index; NULL before the first metrics (disk:
   * also without mounts). The list shows the numbers computed from the document itself.
   */
  @Column({ name: 'headline_cpu_percent', type: 'double precision', nullable: true, select: false })
  headlineCpuPercent!: number | null;

  @Column({ name: 'headline_mem_percent', type: 'double precision', nullable: true, select: false })
  headlineMemPercent!: number | null;

  @Column({ name: 'headline_disk_percent', type: 'double precision', nullable: true, select: false })
  headlineDiskPercent!: number | null;

  @Column({ name: 'last_handshake_at', type: 'timestamptz', nullable: true })
  lastHandshakeAt!: Date | null;

  @Column({ name: 'rx_bytes', type: 'bigint', default: 0 })
  rxBytes!: string;

  @Column({ name: 'tx_bytes', type: 'bigint', default: 0 })
  txBytes!: string;

  @Column({ name: 'tunnel_endpoint', type: 'text', nullable: true })
  tunnelEndpoint!: string | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** What the agent runs (device-modules.ts); set to the type's defaults at creation. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  modules!: Partial<DeviceModules>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
