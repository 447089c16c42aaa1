import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { BackupPolicyEntity } from './backup-policy.entity.js';

@Injectable()
export class BackupPoliciesRepository {
  constructor(private readonly db: Database) {}

  private policies() {
    return this.db.manager().getRepository(BackupPolicyEntity);
  }

  find(deviceId: string): Promise<BackupPolicyEntity | null> {
    return this.policies().findOneBy({ deviceId });
  }

  async save(policy: BackupPolicyEntity): Promise<void> {
    await this.policies().upsert(policy, ['deviceId']);
  }
}
