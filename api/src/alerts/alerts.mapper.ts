import type { Alert, AlertRule, Silence } from '@xspectre/contracts';
import type { AlertRuleEntity } from './alert-rule.entity.js';
import type { AlertRow } from './alerts.repository.js';
import type { SilenceRow } from './silences.repository.js';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function toAlertDto(a: AlertRow): Alert {
  return {
    id: a.id,
    ruleId: a.ruleId,
    ruleKey: a.ruleKey,
    kind: a.kind,
    severity: a.severity,
    state: a.state,
    deviceId: a.deviceId,
    deviceName: a.deviceName,
    organizationId: a.organizationId,
    organizationName: a.organizationName,
    siteId: a.siteId,
    siteName: a.siteName,
    subject: a.subject,
    title: a.title,
    details: a.details,
    silenced: a.silenced,
    openedAt: new Date(a.openedAt).toISOString(),
    acknowledgedAt: iso(a.acknowledgedAt),
    acknowledgedBy: a.acknowledgedBy,
    acknowledgeNote: a.acknowledgeNote,
    resolvedAt: iso(a.resolvedAt),
    resolvedBy: a.resolvedBy,
    resolution: a.resolution,
    resolveNote: a.resolveNote,
  };
}

export function toAlertRuleDto(r: AlertRuleEntity): AlertRule {
  const scope: AlertRule['scope'] =
    r.scopeKind === 'global'
      ? { kind: 'global' }
      : r.scopeKind === 'device_type'
        ? { kind: 'device_type', deviceType: r.scopeRef as 'scanner' | 'server' }
        : { kind: r.scopeKind, id: r.scopeRef };
  return {
    id: r.id,
    key: r.key,
    name: r.name,
    kind: r.kind,
    params: r.params,
    severity: r.severity,
    enabled: r.enabled,
    scope,
    builtIn: r.builtIn,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export function toSilenceDto(s: SilenceRow, now: Date): Silence {
  return {
    id: s.id,
    scope: { kind: s.scopeKind, id: s.scopeId },
    scopeName: s.scopeName,
    startsAt: new Date(s.startsAt).toISOString(),
    endsAt: new Date(s.endsAt).toISOString(),
    reason: s.reason,
    createdBy: s.createdBy,
    createdAt: new Date(s.createdAt).toISOString(),
    active: new Date(s.startsAt) <= now && new Date(s.endsAt) > now,
  };
}
