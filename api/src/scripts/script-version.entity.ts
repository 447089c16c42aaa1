import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

/**
 * Every content a script has had, by its SHA-256: append-only while the script exists. A command
 * signs the hash of the version it was queued with, and the agent fetches exactly that version
 * (GET agent/commands/:id/script), even after the script was edited. Deleting a script that was
 * never queued removes its versions with it.
 */
@Entity({ name: 'script_versions' })
export class ScriptVersionEntity {
  @ForeignKey('ScriptEntity', { name: 'fk_script_versions_script', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'script_id', type: 'uuid', primaryKeyConstraintName: 'pk_script_versions' })
  scriptId!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'pk_script_versions' })
  sha256!: string;

  @Column({ type: 'text' })
  content!: string;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
