import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { SecuritySettingsEntity } from './security-settings.entity.js';

@Injectable()
export class SecuritySettingsRepository {
  constructor(private readonly db: Database) {}

  async get(): Promise<{ requireTotp: boolean }> {
    const row = await this.db
      .manager()
      .getRepository(SecuritySettingsEntity)
      .findOne({ where: { id: 1 } });
    return { requireTotp: row?.requireTotp ?? false };
  }

  async set(values: { requireTotp: boolean }): Promise<void> {
    await this.db
      .manager()
      .getRepository(SecuritySettingsEntity)
      .upsert({ id: 1, ...values }, ['id']);
  }
}
