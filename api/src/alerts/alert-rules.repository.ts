import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { AlertRuleEntity } from './alert-rule.entity.js';

@Injectable()
export class AlertRulesRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(AlertRuleEntity);
  }

  all(): Promise<AlertRuleEntity[]> {
    return this.repo().find({ order: { key: 'ASC', scopeKind: 'ASC', scopeRef: 'ASC' } });
  }

  findById(id: string): Promise<AlertRuleEntity | null> {
    return this.repo().findOne({ where: { id } });
  }

  async insert(rule: AlertRuleEntity): Promise<void> {
    await this.repo().insert(rule as Parameters<ReturnType<typeof this.repo>['insert']>[0]);
  }

  async update(
    id: string,
    changes: Partial<Pick<AlertRuleEntity, 'name' | 'params' | 'severity' | 'enabled' | 'updatedAt'>>,
  ): Promise<void> {
    await this.repo().update({ id }, changes as Parameters<ReturnType<typeof this.repo>['update']>[1]);
  }

  async delete(id: string): Promise<void> {
    await this.repo().delete({ id });
  }

  /** The newest change to any rule: instances reload their rule book when it moves. */
  async version(): Promise<string> {
    const rows = (await this.db
      .manager()
      .query(`SELECT count(*)::text || ':' || COALESCE(max(updated_at)::text, '') AS v FROM alert_rules`)) as Array<{ v: string }>;
    return rows[0]?.v ?? '';
  }
}
