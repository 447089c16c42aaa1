import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { ScriptInterpreter } from '@xspectre/contracts';

/**
 * A script of the library: its current version (content and SHA-256) and how it runs. Every
 * content version is also kept in `script_versions` (script-version.entity.ts), so a command
 * queued before an edit still fetches the content its signed hash names.
 */
@Entity({ name: 'scripts' })
@Check('chk_scripts_interpreter', `"interpreter" IN ('bash', 'sh', 'python3')`)
@Check('chk_scripts_timeout', `"timeout_seconds" BETWEEN 1 AND 3600`)
@Check('chk_scripts_sha256', `"sha256" ~ '^[0-9a-f]{64}$'`)
// Case-insensitive unique names among runnable scripts (an archived script frees its name): a
// partial expression index TypeORM cannot describe, so the migration owns it.
@Index('uq_scripts_name_lower', { synchronize: false })
export class ScriptEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_scripts' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  description!: string;

  @Column({ type: 'text' })
  interpreter!: ScriptInterpreter;

  @Column({ type: 'text' })
  content!: string;

  /** Lower-case hex SHA-256 of the content's UTF-8 bytes. */
  @Column({ type: 'text' })
  sha256!: string;

  @Column({ name: 'size_bytes', type: 'integer' })
  sizeBytes!: number;

  @Column({ name: 'timeout_seconds', type: 'integer' })
  timeoutSeconds!: number;

  /** Set when the script was deleted while commands had run it: kept for their history, never run again. */
  @Column({ name: 'archived_at', type: 'timestamptz', nullable: true })
  archivedAt!: Date | null;

  /** The last time a command was queued with it; a script never queued is deleted for real. */
  @Column({ name: 'last_queued_at', type: 'timestamptz', nullable: true })
  lastQueuedAt!: Date | null;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_by', type: 'text' })
  updatedBy!: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
