import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Append-only, hash-chained: a trigger refuses UPDATE, DELETE and TRUNCATE, and each row's
 * hash covers its fields and the previous row's hash (audit-chain.ts).
 */
@Entity({ name: 'audit_events' })
@Check('chk_audit_events_result', `"result" IN ('success', 'failure')`)
@Index('ix_audit_events_occurred_at', ['occurredAt'])
// Every list filter has an index ending in id: a filtered newest-first cursor page is a range scan.
@Index('ix_audit_events_user', ['userId', 'id'])
@Index('ix_audit_events_resource', ['resourceType', 'resourceId', 'id'])
@Index('ix_audit_events_resource_id', ['resourceId', 'id'])
@Index('ix_audit_events_action', ['action', 'id'])
@Index('ix_audit_events_result', ['result', 'id'])
export class AuditEventEntity {
  /** Position in the chain; assigned under the chain lock, so gap-free. */
  @PrimaryColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId!: string | null;

  @Column({ name: 'user_email', type: 'text', nullable: true })
  userEmail!: string | null;

  @Column({ name: 'source_ip', type: 'text', nullable: true })
  sourceIp!: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  @Column({ type: 'text' })
  action!: string;

  @Column({ name: 'resource_type', type: 'text' })
  resourceType!: string;

  @Column({ name: 'resource_id', type: 'text', nullable: true })
  resourceId!: string | null;

  @Column({ type: 'jsonb' })
  details!: Record<string, unknown>;

  @Column({ type: 'text' })
  result!: 'success' | 'failure';

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'prev_hash', type: 'text' })
  prevHash!: string;

  @Column({ type: 'text' })
  hash!: string;
}
