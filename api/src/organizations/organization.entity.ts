import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { OrganizationKind } from '@xspectre/contracts';

@Entity({ name: 'organizations' })
@Check('chk_organizations_kind', `"kind" IN ('customer', 'internal')`)
// Case-insensitive unique names and at most one internal organization: expression and
// partial indexes that TypeORM cannot describe, so the migration owns them.
@Index('uq_organizations_name_lower', { synchronize: false })
@Index('uq_organizations_single_internal', { synchronize: false })
export class OrganizationEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  kind!: OrganizationKind;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
