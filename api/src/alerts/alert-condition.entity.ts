import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

/**
 * A device condition that breaches a rule, since when: written only on transitions (breach,
 * clear), so a heartbeat that changes nothing writes nothing. The evaluation job opens the alert
 * once `since` is older than the rule's duration, and resolves it once the row is gone.
 */
@Entity({ name: 'alert_conditions' })
export class AlertConditionEntity {
  @ForeignKey('AlertRuleEntity', { name: 'fk_alert_conditions_rule', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'rule_id', type: 'uuid', primaryKeyConstraintName: 'pk_alert_conditions' })
  ruleId!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_alert_conditions_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_alert_conditions' })
  deviceId!: string;

  /** A mountpoint, unit or container; '' for the device itself. */
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'pk_alert_conditions' })
  subject!: string;

  @Column({ type: 'timestamptz' })
  since!: Date;

  /** The value and threshold when it started breaching (shown in the alert). */
  @Column({ type: 'jsonb', default: () => `'{}'` })
  details!: Record<string, unknown>;
}
