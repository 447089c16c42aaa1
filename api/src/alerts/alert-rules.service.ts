import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { parseRuleParams, type AlertScope, type CreateAlertRule, type UpdateAlertRule } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { isUniqueViolation } from '../db/pg-errors.js';
import { DevicesService } from '../devices/devices.service.js';
import { OrganizationsService } from '../organizations/organizations.service.js';
import type { AlertRuleEntity } from './alert-rule.entity.js';
import { AlertRulesRepository } from './alert-rules.repository.js';
import { toAlertRuleDto } from './alerts.mapper.js';
import { AlertRuleBook } from './alert-rule-book.service.js';

/** Alert rules: managed by Super Admins (`settings.manage`); the engine reads them through AlertRuleBook. */
@Injectable()
export class AlertRulesService {
  constructor(
    private readonly rules: AlertRulesRepository,
    private readonly book: AlertRuleBook,
    private readonly organizations: OrganizationsService,
    private readonly devices: DevicesService,
  ) {}

  async list() {
    return { items: (await this.rules.all()).map(toAlertRuleDto) };
  }

  async create(body: CreateAlertRule) {
    const params = this.parseParams(body.kind, body.params);
    await this.assertScopeExists(body.scope);
    await this.assertKindOfKey(body.key, body.kind);
    const now = new Date();
    const rule: AlertRuleEntity = {
      id: randomUUID(),
      key: body.key,
      name: body.name,
      kind: body.kind,
      params,
      severity: body.severity,
      enabled: body.enabled,
      ...scopeColumns(body.scope),
      builtIn: false,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.rules.insert(rule);
    } catch (error) {
      if (isUniqueViolation(error, 'uq_alert_rules_key_scope'))
        throw new AppError('ALERT_RULE_EXISTS', `a "${body.key}" rule already exists for this scope: change that one`);
      throw error;
    }
    requestContext.annotate({ resourceId: rule.id, details: { key: rule.key, kind: rule.kind, scope: body.scope, enabled: rule.enabled } });
    this.book.invalidate();
    return toAlertRuleDto(rule);
  }

  async update(id: string, body: UpdateAlertRule) {
    const rule = await this.require(id);
    const changes: Parameters<AlertRulesRepository['update']>[1] = { updatedAt: new Date() };
    if (body.name !== undefined) changes.name = body.name;
    if (body.severity !== undefined) changes.severity = body.severity;
    if (body.enabled !== undefined) changes.enabled = body.enabled;
    if (body.params !== undefined) changes.params = this.parseParams(rule.kind, body.params);
    await this.rules.update(id, changes);
    requestContext.annotate({
      resourceId: id,
      details: {
        key: rule.key,
        before: { params: rule.params, severity: rule.severity, enabled: rule.enabled },
        changed: Object.keys(body),
      },
    });
    this.book.invalidate();
    return toAlertRuleDto({ ...rule, ...changes });
  }

  async remove(id: string) {
    const rule = await this.require(id);
    if (rule.builtIn) throw new AppError('ALERT_RULE_BUILT_IN', `"${rule.key}" is built in: disable it instead`);
    await this.rules.delete(id);
    requestContext.annotate({ resourceId: id, details: { key: rule.key, kind: rule.kind } });
    this.book.invalidate();
    return toAlertRuleDto(rule);
  }

  private parseParams(kind: AlertRuleEntity['kind'], params: unknown): Record<string, unknown> {
    try {
      return parseRuleParams(kind, params) as Record<string, unknown>;
    } catch (error) {
      const issues = (error as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues ?? [];
      throw new AppError('VALIDATION_FAILED', `params do not fit a ${kind} rule`, {
        errors: issues.map((i) => ({ path: ['body', 'params', ...i.path.map(String)].join('.'), message: i.message })),
      });
    }
  }

  private async require(id: string): Promise<AlertRuleEntity> {
    const rule = await this.rules.findById(id);
    if (!rule) throw new AppError('ALERT_RULE_NOT_FOUND', `no alert rule with id ${id}`);
    return rule;
  }

  private async assertKindOfKey(key: string, kind: AlertRuleEntity['kind']): Promise<void> {
    const other = (await this.rules.all()).find((r) => r.key === key && r.kind !== kind);
    if (other) throw new AppError('ALERT_RULE_KIND_MISMATCH', `"${key}" rules are ${other.kind} rules; use another key for a ${kind} rule`);
  }

  private async assertScopeExists(scope: AlertScope): Promise<void> {
    if (scope.kind === 'organization') await this.organizations.get(scope.id);
    else if (scope.kind === 'site') await this.organizations.getSite(scope.id);
    else if (scope.kind === 'device') await this.devices.requireDevice(scope.id);
  }
}

function scopeColumns(scope: AlertScope): Pick<AlertRuleEntity, 'scopeKind' | 'scopeRef'> {
  if (scope.kind === 'global') return { scopeKind: 'global', scopeRef: '' };
  if (scope.kind === 'device_type') return { scopeKind: 'device_type', scopeRef: scope.deviceType };
  return { scopeKind: scope.kind, scopeRef: scope.id };
}
