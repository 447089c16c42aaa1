import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A maintenance window: alerts opened in its scope and time are recorded but not delivered. */
@Entity({ name: 'alert_silences' })
@Check('chk_alert_silences_scope_kind', `"scope_kind" IN ('organization', 'site', 'device')`)
@Check('chk_alert_silences_window', `"ends_at" > "starts_at"`)
@Index('ix_alert_silences_ends', ['endsAt'])
export class SilenceEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_alert_silences' })
  id!: string;

  @Column({ name: 'scope_kind', type: 'text' })
  scopeKind!: 'organization' | 'site' | 'device';

  @Column({ name: 'scope_id', type: 'uuid' })
  scopeId!: string;

  @Column({ name: 'starts_at', type: 'timestamptz' })
  startsAt!: Date;

  @Column({ name: 'ends_at', type: 'timestamptz' })
  endsAt!: Date;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
