import { Check, Column, Entity, PrimaryColumn, Unique } from 'typeorm';
import type { AlertRuleKind, AlertSeverity } from '@xspectre/contracts';

/**
 * An alert rule. Rules sharing a `key` are one family: for each device the most specific scope
 * wins (contracts ALERT_SCOPE_PRECEDENCE), so a device's own disabled rule mutes the global one.
 */
@Entity({ name: 'alert_rules' })
@Unique('uq_alert_rules_key_scope', ['key', 'scopeKind', 'scopeRef'])
@Check('chk_alert_rules_severity', `"severity" IN ('info', 'warning', 'critical')`)
@Check('chk_alert_rules_scope_kind', `"scope_kind" IN ('global', 'device_type', 'organization', 'site', 'device')`)
export class AlertRuleEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_alert_rules' })
  id!: string;

  @Column({ type: 'text' })
  key!: string;

  @Column({ type: 'text' })
  name!: string;

  /** Validated against contracts ALERT_RULE_PARAMS on every write and every read. */
  @Column({ type: 'text' })
  kind!: AlertRuleKind;

  @Column({ type: 'jsonb' })
  params!: Record<string, unknown>;

  @Column({ type: 'text' })
  severity!: AlertSeverity;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  @Column({ name: 'scope_kind', type: 'text' })
  scopeKind!: 'global' | 'device_type' | 'organization' | 'site' | 'device';

  /** The scope's id or device type; '' for global (so the unique key covers global rules too). */
  @Column({ name: 'scope_ref', type: 'text' })
  scopeRef!: string;

  /** Shipped by the migration; may be changed or disabled, not deleted. */
  @Column({ name: 'built_in', type: 'boolean', default: false })
  builtIn!: boolean;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
