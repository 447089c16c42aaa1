import { Check, Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { DeliveryKind } from '@xspectre/contracts';

/**
 * One message of one alert to one target. Per (alert, target) the rows are numbered and sent in
 * sequence order (acknowledge and resolve need the incident the create made); the dead-letter list
 * is the rows in state `dead`.
 */
@Entity({ name: 'alert_deliveries' })
@Unique('uq_alert_deliveries_sequence', ['alertId', 'targetId', 'sequence'])
@Check('chk_alert_deliveries_kind', `"kind" IN ('create', 'acknowledge', 'resolve')`)
@Check('chk_alert_deliveries_state', `"state" IN ('pending', 'done', 'dead')`)
@Index('ix_alert_deliveries_state_next', ['state', 'nextAttemptAt'])
export class AlertDeliveryEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint', primaryKeyConstraintName: 'pk_alert_deliveries' })
  id!: string;

  @ForeignKey('AlertEntity', { name: 'fk_alert_deliveries_alert', onDelete: 'CASCADE' })
  @Column({ name: 'alert_id', type: 'uuid' })
  alertId!: string;

  @ForeignKey('AlertTargetEntity', { name: 'fk_alert_deliveries_target', onDelete: 'CASCADE' })
  @Column({ name: 'target_id', type: 'uuid' })
  targetId!: string;

  @Column({ type: 'text' })
  kind!: DeliveryKind;

  @Column({ type: 'integer' })
  sequence!: number;

  @Column({ type: 'text' })
  state!: 'pending' | 'done' | 'dead';

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  /** The BetterStack incident id (set by the create, read by acknowledge and resolve). */
  @Column({ name: 'remote_id', type: 'text', nullable: true })
  remoteId!: string | null;

  /** The alert as it was when this message was queued (contracts AlertSchema): what is sent. */
  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'done_at', type: 'timestamptz', nullable: true })
  doneAt!: Date | null;
}
