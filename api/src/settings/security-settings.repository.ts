import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { SecuritySettingsEntity } from './security-settings.entity.js';

interface SecurityPolicyRow {
  requireTotp: boolean;
  ssoRequired: boolean;
  ssoBreakGlassUserIds: string[];
}

@Injectable()
export class SecuritySettingsRepository {
  constructor(private readonly db: Database) {}

  async get(): Promise<SecurityPolicyRow> {
    const row = await this.db
      .manager()
      .getRepository(SecuritySettingsEntity)
      .findOne({ where: { id: 1 } });
    return {
      requireTotp: row?.requireTotp ?? false,
      ssoRequired: row?.ssoRequired ?? false,
      ssoBreakGlassUserIds: row?.ssoBreakGlassUserIds ?? [],
    };
  }

  async set(values: Partial<SecurityPolicyRow>): Promise<void> {
    await this.db
      .manager()
      .getRepository(SecuritySettingsEntity)
      .upsert({ id: 1, ...values }, ['id']);
  }
}
