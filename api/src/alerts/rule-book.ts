import {
  ALERT_SCOPE_PRECEDENCE,
  parseRuleParams,
  type AlertRuleKind,
  type AlertSeverity,
  type DeviceType,
  type ScannerCheck,
  type ALERT_RULE_PARAMS,
} from '@xspectre/contracts';
import type { z } from 'zod';

/** A rule as the engine uses it: params parsed for its kind. */
export interface EngineRule<K extends AlertRuleKind = AlertRuleKind> {
  id: string;
  key: string;
  name: string;
  kind: K;
  params: z.infer<(typeof ALERT_RULE_PARAMS)[K]>;
  severity: AlertSeverity;
  enabled: boolean;
  scopeKind: (typeof ALERT_SCOPE_PRECEDENCE)[number];
  scopeRef: string;
}

/** What decides which rules apply to a device. */
export interface DeviceScope {
  id: string;
  organizationId: string;
  siteId: string;
  type: DeviceType;
}

export interface StoredRule {
  id: string;
  key: string;
  name: string;
  kind: AlertRuleKind;
  params: unknown;
  severity: AlertSeverity;
  enabled: boolean;
  scopeKind: EngineRule['scopeKind'];
  scopeRef: string;
}

/** Parses stored rules; a row whose params no longer parse is skipped (and reported by the caller). */
export function toEngineRules(rows: StoredRule[]): { rules: EngineRule[]; invalid: Array<{ id: string; key: string; error: string }> } {
  const rules: EngineRule[] = [];
  const invalid: Array<{ id: string; key: string; error: string }> = [];
  for (const row of rows) {
    try {
      rules.push({ ...row, params: parseRuleParams(row.kind, row.params) } as EngineRule);
    } catch (error) {
      invalid.push({ id: row.id, key: row.key, error: error instanceof Error ? error.message.slice(0, 300) : 'invalid' });
    }
  }
  return { rules, invalid };
}

/**
 * All rules, indexed so a device's effective rules are found without scanning: for each rule key,
 * the most specific scope that matches the device decides (device, site, organization, device
 * type, global); a disabled rule there mutes the key for that device.
 */
export class RuleBook {
  private readonly byKey = new Map<string, Map<string, EngineRule>>();
  private readonly cache = new Map<string, EngineRule[]>();

  constructor(readonly rules: EngineRule[]) {
    for (const rule of rules) {
      let scopes = this.byKey.get(rule.key);
      if (!scopes) this.byKey.set(rule.key, (scopes = new Map()));
      scopes.set(`${rule.scopeKind}:${rule.scopeRef}`, rule);
    }
  }

  /** The enabled rules in force for this device, one per key (memoised per device and scope). */
  effectiveFor(device: DeviceScope): EngineRule[] {
    const cacheKey = `${device.id}|${device.siteId}|${device.organizationId}|${device.type}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const refs: Record<EngineRule['scopeKind'], string> = {
      device: device.id,
      site: device.siteId,
      organization: device.organizationId,
      device_type: device.type,
      global: '',
    };
    const effective: EngineRule[] = [];
    for (const scopes of this.byKey.values()) {
      for (const kind of ALERT_SCOPE_PRECEDENCE) {
        const rule = scopes.get(`${kind}:${refs[kind]}`);
        if (!rule) continue;
        if (rule.enabled) effective.push(rule);
        break;
      }
    }
    this.cache.set(cacheKey, effective);
    return effective;
  }

  /** Fleet rules in force for a scope of the fleet (global, an organization or a device type). */
  fleetRules(): EngineRule<'fleet_offline'>[] {
    return this.rules.filter((r): r is EngineRule<'fleet_offline'> => r.kind === 'fleet_offline' && r.enabled);
  }

  /** The enabled rules about the backup servers' pools and scrubs (fleet-level: no device). */
  backupServerRules(): EngineRule<'backup_pool' | 'backup_scrub'>[] {
    return this.rules.filter(
      (r): r is EngineRule<'backup_pool' | 'backup_scrub'> => (r.kind === 'backup_pool' || r.kind === 'backup_scrub') && r.enabled,
    );
  }

  /** The scanner rules in force for a device, by check (a check's rules at several thresholds form its ladder). */
  scannerRulesFor(device: DeviceScope): Map<ScannerCheck, EngineRule<'scanner'>[]> {
    const byCheck = new Map<ScannerCheck, EngineRule<'scanner'>[]>();
    for (const rule of this.effectiveFor(device)) {
      if (rule.kind !== 'scanner') continue;
      const scanner = rule as EngineRule<'scanner'>;
      byCheck.set(scanner.params.check, [...(byCheck.get(scanner.params.check) ?? []), scanner]);
    }
    return byCheck;
  }

  byId(id: string): EngineRule | undefined {
    return this.rules.find((r) => r.id === id);
  }
}
