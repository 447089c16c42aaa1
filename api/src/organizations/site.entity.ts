import { ForeignKey, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'sites' })
@Index('ix_sites_organization', ['organizationId'])
@Index('uq_sites_organization_name_lower', { synchronize: false })
export class SiteEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ForeignKey('OrganizationEntity', { name: 'fk_sites_organization', onDelete: 'RESTRICT' })
  @Column({ name: 'organization_id', type: 'uuid' })
  organizationId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'time_zone', type: 'text' })
  timeZone!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
