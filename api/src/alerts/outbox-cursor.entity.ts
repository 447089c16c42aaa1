import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * How far the engine has read an outbox, as (transaction id, row id): rows are read in that order
 * and only below the snapshot's xmin, where every transaction has ended (see outbox-reader.ts).
 */
@Entity({ name: 'alert_outbox_cursors' })
export class OutboxCursorEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'pk_alert_outbox_cursors' })
  name!: string;

  /** The row's writing transaction (xid8 as bigint: TypeORM has no xid8 type). */
  @Column({ name: 'last_xid', type: 'bigint' })
  lastXid!: string;

  @Column({ name: 'last_id', type: 'bigint' })
  lastId!: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
