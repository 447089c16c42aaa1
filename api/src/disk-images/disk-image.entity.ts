import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { DiskImageMetadata } from '@xspectre/contracts';

/**
 * One full-disk image the backup server accepted (`disk-images/<device>/<imageName>.img.zst`),
 * as the recovery agent reported it after the upload's complete (agent/recovery/images). The
 * metadata is the image's metadata.json; the hashes and sizes are what a restore signs.
 */
@Entity({ name: 'disk_images' })
@Index('ix_disk_images_device_created', ['deviceId', 'createdAt'])
@Check('chk_disk_images_sha256', `"sha256_compressed" ~ '^[0-9a-f]{64}$'`)
export class DiskImageEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_disk_images_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_disk_images' })
  deviceId!: string;

  @PrimaryColumn({ name: 'image_name', type: 'text', primaryKeyConstraintName: 'pk_disk_images' })
  imageName!: string;

  @Column({ name: 'compressed_bytes', type: 'bigint' })
  compressedBytes!: string;

  @Column({ name: 'sha256_compressed', type: 'text' })
  sha256Compressed!: string;

  @Column({ name: 'raw_bytes', type: 'bigint' })
  rawBytes!: string;

  @Column({ type: 'jsonb' })
  metadata!: DiskImageMetadata;

  /** The `recovery.image` command that made it. */
  @Column({ name: 'command_id', type: 'uuid', nullable: true })
  commandId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** The backup server pruned it (retention): listed, no longer restorable. */
  @Column({ name: 'pruned_at', type: 'timestamptz', nullable: true })
  prunedAt!: Date | null;
}
