import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import type { DeliveryRouting } from '@xspectre/contracts';

/** Where alerts are delivered: BetterStack's Uptime API or a signed webhook. */
@Entity({ name: 'alert_targets' })
@Check('chk_alert_targets_kind', `"kind" IN ('betterstack', 'webhook')`)
export class AlertTargetEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_alert_targets' })
  id!: string;

  @Column({ type: 'text' })
  kind!: 'betterstack' | 'webhook';

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  @Column({ type: 'jsonb' })
  routing!: DeliveryRouting;

  @Column({ name: 'allow_private_address', type: 'boolean', default: false })
  allowPrivateAddress!: boolean;

  /** Kind-specific, without the secret (contracts BetterStackConfigSchema / WebhookConfigSchema). */
  @Column({ type: 'jsonb' })
  config!: Record<string, unknown>;

  /** The API token or HMAC secret, sealed with the API's secret key like TOTP secrets. */
  @Column({ name: 'secret_sealed', type: 'text' })
  secretSealed!: string;

  @Column({ name: 'secret_hint', type: 'text' })
  secretHint!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
