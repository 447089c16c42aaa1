import { ALERT_RULE_KINDS, type AlertRule } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import {
  emptyRuleForm,
  groupRulesByKey,
  paramFields,
  paramValuesOf,
  paramsFromValues,
  paramsText,
  ruleFormOf,
  scopeKindsFor,
  scopeText,
  validateNewRule,
  validateRuleUpdate,
} from './alert-rules';

const ORG = '3f0c2a3e-7b1d-4c55-9a8e-0d6f1b2c3d4e';

function rule(changes: Partial<AlertRule>): AlertRule {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    key: 'cpu-high',
    name: 'CPU busy',
    kind: 'metric',
    params: { metric: 'cpu', threshold: 90, clearBelow: 80, forSeconds: 300 },
    severity: 'warning',
    enabled: true,
    scope: { kind: 'global' },
    builtIn: true,
    createdAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:00.000Z',
    ...changes,
  };
}

describe('rule parameter forms from the contract', () => {
  it('read every kind’s fields with bounds, choices and defaults', () => {
    for (const kind of ALERT_RULE_KINDS) expect(paramFields(kind).length).toBeGreaterThan(0);
    const metric = paramFields('metric');
    expect(metric.map((f) => f.name)).toEqual(['metric', 'threshold', 'clearBelow', 'forSeconds', 'mounts']);
    expect(metric.find((f) => f.name === 'metric')).toMatchObject({ type: 'enum', optional: false });
    expect(metric.find((f) => f.name === 'forSeconds')).toMatchObject({ type: 'number', min: 0, max: 86_400, integer: true });
    expect(metric.find((f) => f.name === 'mounts')).toMatchObject({ type: 'list', optional: true });
    expect(paramFields('container').find((f) => f.name === 'restarts')).toMatchObject({ type: 'number', optional: true, defaultValue: 3 });
    expect(paramFields('event').find((f) => f.name === 'resolvedBy')).toMatchObject({ type: 'enum', optional: true });
  });

  it('round-trip a rule’s params through the form', () => {
    const params = { condition: 'not_running', containers: ['gvmd', 'redis*'], forSeconds: 60, restarts: 3, windowSeconds: 900 };
    const values = paramValuesOf('container', params);
    expect(values.containers).toBe('gvmd\nredis*');
    expect(paramsFromValues('container', values)).toEqual({ params, errors: {} });
    // A new form starts with the schema's defaults.
    expect(paramValuesOf('unit', null)).toMatchObject({ condition: 'failed', units: '*' });
  });

  it('name what is missing or not a number, and leave empty optional fields out', () => {
    const { params, errors } = paramsFromValues('metric', {
      metric: 'cpu',
      threshold: 'ninety',
      clearBelow: '',
      forSeconds: '',
      mounts: '',
    });
    expect(errors).toEqual({ 'params.threshold': 'must be a number', 'params.forSeconds': 'required' });
    expect(params).toEqual({ metric: 'cpu' });
  });
});

describe('rule validation', () => {
  it('refuses a threshold above 100 % with the contract’s message at the field', () => {
    const form = { ...emptyRuleForm('metric'), key: 'cpu-lab', name: 'CPU in the lab' };
    form.params = { ...form.params, metric: 'cpu', threshold: '150', forSeconds: '60' };
    const result = validateNewRule(form);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors['params.threshold']).toBe('must be at most 100 (percent) for cpu');
  });

  it('builds the create body with its scope', () => {
    const form = {
      ...emptyRuleForm('offline'),
      key: 'offline-acme',
      name: 'Acme offline',
      scopeKind: 'organization' as const,
      scopeRef: ORG,
    };
    form.params = { afterSeconds: '600' };
    expect(validateNewRule(form)).toEqual({
      ok: true,
      body: {
        key: 'offline-acme',
        name: 'Acme offline',
        kind: 'offline',
        params: { afterSeconds: 600 },
        severity: 'warning',
        enabled: true,
        scope: { kind: 'organization', id: ORG },
      },
    });
    const noOrg = validateNewRule({ ...form, scopeRef: '' });
    expect(noOrg.ok ? {} : noOrg.errors.scope).toBe('choose what the rule applies to');
    const badKey = validateNewRule({ ...form, key: 'Bad Key' });
    expect(badKey.ok ? '' : badKey.errors.key).toMatch(/lower-case letters/);
  });

  it('keeps fleet rules off sites and devices', () => {
    expect(scopeKindsFor('fleet_offline')).toEqual(['global', 'device_type', 'organization']);
    expect(scopeKindsFor('metric')).toContain('device');
  });

  it('updates name, params, severity and enabled only, checked per kind', () => {
    const form = ruleFormOf(rule({}));
    expect(validateRuleUpdate(form)).toEqual({
      ok: true,
      body: {
        name: 'CPU busy',
        params: { metric: 'cpu', threshold: 90, clearBelow: 80, forSeconds: 300 },
        severity: 'warning',
        enabled: true,
      },
    });
    const bad = validateRuleUpdate({ ...form, params: { ...form.params, clearBelow: '95' } });
    expect(bad.ok ? {} : bad.errors['params.clearBelow']).toBe('must not exceed threshold');
    // An override starts from the rule, with a narrower scope to choose.
    expect(ruleFormOf(rule({}), true)).toMatchObject({ key: 'cpu-high', scopeKind: 'organization', scopeRef: '' });
  });
});

describe('rule list', () => {
  it('groups by key, the global rule first and the most specific last', () => {
    const groups = groupRulesByKey([
      rule({ id: 'a', key: 'disk-high', scope: { kind: 'device', id: ORG } }),
      rule({ id: 'b', key: 'disk-high', scope: { kind: 'global' } }),
      rule({ id: 'c', key: 'cpu-high' }),
      rule({ id: 'd', key: 'disk-high', scope: { kind: 'organization', id: ORG } }),
    ]);
    expect(groups.map((g) => g.key)).toEqual(['cpu-high', 'disk-high']);
    expect(groups[1]!.rules.map((r) => r.id)).toEqual(['b', 'd', 'a']);
  });

  it('reads scopes and params as text', () => {
    expect(scopeText({ kind: 'organization', id: ORG }, { org: () => 'Acme' })).toBe('organization Acme');
    expect(scopeText({ kind: 'site', id: ORG }, {})).toBe('site 3f0c2a3e');
    expect(scopeText({ kind: 'device_type', deviceType: 'scanner' }, {})).toBe('every scanner');
    expect(paramsText('metric', { metric: 'cpu', threshold: 90, clearBelow: 80, forSeconds: 300 })).toBe(
      'cpu ≥ 90 % for 5 min, clears below 80 %',
    );
    expect(paramsText('metric', { metric: 'load5', threshold: 32, forSeconds: 0 })).toBe('load5 ≥ 32 at once');
    expect(paramsText('offline', { afterSeconds: 300 })).toBe('offline for 5 min');
    expect(paramsText('event', { eventType: 'fingerprint.changed', resolvedBy: 'fingerprint.accepted' })).toBe(
      'on fingerprint.changed, resolved by fingerprint.accepted',
    );
    expect(paramsText('fleet_offline', { sharePercent: 20, clearBelowPercent: 15, minDevices: 5 })).toBe(
      '≥ 20 % of active devices offline, clears below 15 %',
    );
  });
});
