import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import type { BackupScrubResult } from '@xspectre/contracts';

/** Each backup server's latest capacity report (one row per service credential). */
@Entity({ name: 'backup_server_reports' })
@Check('chk_backup_server_reports_store', `"store" IN ('zfs', 'directory')`)
export class BackupServerReportEntity {
  @PrimaryColumn({ name: 'credential_id', type: 'uuid', primaryKeyConstraintName: 'pk_backup_server_reports' })
  credentialId!: string;

  @Column({ name: 'server_name', type: 'text' })
  serverName!: string;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;

  @Column({ name: 'generated_at', type: 'timestamptz' })
  generatedAt!: Date;

  @Column({ type: 'text' })
  store!: 'zfs' | 'directory';

  @Column({ type: 'jsonb' })
  pool!: { name: string; sizeBytes: number; usedBytes: number; freeBytes: number };

  @Column({ name: 'last_scrub', type: 'jsonb', nullable: true })
  lastScrub!: BackupScrubResult | null;
}
