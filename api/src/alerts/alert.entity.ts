import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { AlertRuleKind, AlertSeverity, AlertState } from '@xspectre/contracts';

/**
 * An alert: open → acknowledged → resolved. At most one unresolved alert per (rule key, device,
 * subject): a partial unique index the migration owns (`uq_alerts_unresolved`), so a condition
 * never opens a second alert while one is open, whichever instance notices it.
 */
@Entity({ name: 'alerts' })
@Check('chk_alerts_state', `"state" IN ('open', 'acknowledged', 'resolved')`)
@Check('chk_alerts_severity', `"severity" IN ('info', 'warning', 'critical')`)
@Check('chk_alerts_resolution', `"resolution" IS NULL OR "resolution" IN ('auto', 'manual')`)
@Index('ix_alerts_opened', ['openedAt'])
@Index('ix_alerts_device_opened', ['deviceId', 'openedAt'])
@Index('uq_alerts_unresolved', { synchronize: false })
@Index('ix_alerts_unresolved', { synchronize: false })
export class AlertEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_alerts' })
  id!: string;

  @ForeignKey('AlertRuleEntity', { name: 'fk_alerts_rule', onDelete: 'SET NULL' })
  @Column({ name: 'rule_id', type: 'uuid', nullable: true })
  ruleId!: string | null;

  @Column({ name: 'rule_key', type: 'text' })
  ruleKey!: string;

  @Column({ type: 'text' })
  kind!: AlertRuleKind;

  @Column({ type: 'text' })
  severity!: AlertSeverity;

  @Column({ type: 'text' })
  state!: AlertState;

  /** Null for fleet-level alerts. */
  @ForeignKey('DeviceEntity', { name: 'fk_alerts_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid', nullable: true })
  deviceId!: string | null;

  /** Copied from the device when opened (for filters and routing); null for fleet alerts. */
  @Column({ name: 'organization_id', type: 'uuid', nullable: true })
  organizationId!: string | null;

  @Column({ name: 'site_id', type: 'uuid', nullable: true })
  siteId!: string | null;

  @Column({ type: 'text' })
  subject!: string;

  @Column({ type: 'text' })
  title!: string;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  details!: Record<string, unknown>;

  /** Opened inside a silence: recorded, not delivered (until the silence ends while it is still open). */
  @Column({ type: 'boolean', default: false })
  silenced!: boolean;

  @Column({ name: 'opened_at', type: 'timestamptz' })
  openedAt!: Date;

  @Column({ name: 'acknowledged_at', type: 'timestamptz', nullable: true })
  acknowledgedAt!: Date | null;

  @Column({ name: 'acknowledged_by', type: 'text', nullable: true })
  acknowledgedBy!: string | null;

  @Column({ name: 'acknowledge_note', type: 'text', nullable: true })
  acknowledgeNote!: string | null;

  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt!: Date | null;

  @Column({ name: 'resolved_by', type: 'text', nullable: true })
  resolvedBy!: string | null;

  @Column({ type: 'text', nullable: true })
  resolution!: 'auto' | 'manual' | null;

  @Column({ name: 'resolve_note', type: 'text', nullable: true })
  resolveNote!: string | null;
}
