import {
  ALERT_RULE_PARAMS,
  ALERT_SCOPE_PRECEDENCE,
  CreateAlertRuleSchema,
  FLEET_RULE_KINDS,
  UpdateAlertRuleSchema,
  type AlertRule,
  type AlertRuleKind,
  type AlertScope,
  type AlertSeverity,
  type CreateAlertRule,
  type UpdateAlertRule,
} from '@xspectre/contracts';
import { issuesToFields, type FieldErrors } from './alerts';

/**
 * The rule editor's pure parts. The parameter form of a kind is read from the contract's own
 * schema (`ALERT_RULE_PARAMS[kind]`): its fields, whether each is optional, number bounds, enum
 * choices and lists. A kind a later feature adds (backup overdue, scanner feed stale) thus gets
 * its form without a change here; labels for known names only read better.
 */

export type ParamField =
  | { name: string; label: string; type: 'number'; optional: boolean; min?: number; max?: number; integer: boolean; defaultValue?: number }
  | { name: string; label: string; type: 'enum'; optional: boolean; options: string[]; defaultValue?: string }
  | { name: string; label: string; type: 'list'; optional: boolean; defaultValue?: string[] }
  | { name: string; label: string; type: 'boolean'; optional: boolean; defaultValue?: boolean }
  | { name: string; label: string; type: 'text'; optional: boolean; defaultValue?: string };

const LABELS: Record<string, string> = {
  metric: 'Metric',
  threshold: 'Threshold (at or above)',
  clearBelow: 'Clears below',
  forSeconds: 'Held for (seconds)',
  mounts: 'Mounts (one per line; /var/* for a prefix)',
  condition: 'Condition',
  units: 'Units (one per line; * for every unit)',
  containers: 'Containers (one per line; * for every container)',
  restarts: 'Restarts within the window',
  windowSeconds: 'Window (seconds)',
  afterSeconds: 'Offline for (seconds)',
  staleAfterSeconds: 'Handshake older than (seconds)',
  eventType: 'Event',
  resolvedBy: 'Resolved by the event',
  sharePercent: 'Share offline (%)',
  clearBelowPercent: 'Clears below (%)',
  minDevices: 'At least this many active devices',
};

/** "staleAfterSeconds" → "Stale after seconds" for a field no label names. */
function humanize(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

interface ZodLike {
  def: { type: string; innerType?: ZodLike; defaultValue?: unknown; element?: ZodLike };
  shape?: Record<string, ZodLike>;
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
  options?: readonly unknown[];
}

const BIG = 1e12;

/** The form fields of a rule kind, in the schema's order. */
export function paramFields(kind: AlertRuleKind): ParamField[] {
  const schema = ALERT_RULE_PARAMS[kind] as unknown as ZodLike;
  const fields: ParamField[] = [];
  for (const [name, raw] of Object.entries(schema.shape ?? {})) {
    let t = raw;
    let optional = false;
    let defaultValue: unknown;
    while (t.def.type === 'optional' || t.def.type === 'default') {
      optional = true;
      if (t.def.type === 'default') defaultValue = t.def.defaultValue;
      t = t.def.innerType!;
    }
    const label = LABELS[name] ?? humanize(name);
    if (t.def.type === 'number') {
      const bounded = (v: number | null | undefined) => (typeof v === 'number' && Math.abs(v) < BIG ? v : undefined);
      fields.push({
        name,
        label,
        type: 'number',
        optional,
        min: bounded(t.minValue),
        max: bounded(t.maxValue),
        integer: t.isInt === true,
        defaultValue: typeof defaultValue === 'number' ? defaultValue : undefined,
      });
    } else if (t.def.type === 'enum') {
      fields.push({
        name,
        label,
        type: 'enum',
        optional,
        options: (t.options ?? []).map(String),
        defaultValue: typeof defaultValue === 'string' ? defaultValue : undefined,
      });
    } else if (t.def.type === 'array') {
      fields.push({
        name,
        label,
        type: 'list',
        optional,
        defaultValue: Array.isArray(defaultValue) ? defaultValue.map(String) : undefined,
      });
    } else if (t.def.type === 'boolean') {
      fields.push({ name, label, type: 'boolean', optional, defaultValue: typeof defaultValue === 'boolean' ? defaultValue : undefined });
    } else {
      fields.push({ name, label, type: 'text', optional, defaultValue: typeof defaultValue === 'string' ? defaultValue : undefined });
    }
  }
  return fields;
}

/** Parameter values as the form holds them: text for numbers and lists (one entry per line). */
export type ParamValues = Record<string, string | boolean>;

export function paramValuesOf(kind: AlertRuleKind, params: Record<string, unknown> | null): ParamValues {
  const values: ParamValues = {};
  for (const field of paramFields(kind)) {
    const v = params?.[field.name] ?? (params ? undefined : field.defaultValue);
    if (field.type === 'boolean') values[field.name] = v === true;
    else if (field.type === 'list') values[field.name] = Array.isArray(v) ? v.map(String).join('\n') : '';
    else if (field.type === 'enum') values[field.name] = typeof v === 'string' ? v : field.optional ? '' : (field.options[0] ?? '');
    else values[field.name] = v === undefined || v === null ? '' : String(v);
  }
  return values;
}

/**
 * The params object from the form: numbers parsed (an entry that is not a number is named here),
 * lists split at line ends, empty optional fields left out (the API's default applies).
 */
export function paramsFromValues(kind: AlertRuleKind, values: ParamValues): { params: Record<string, unknown>; errors: FieldErrors } {
  const params: Record<string, unknown> = {};
  const errors: FieldErrors = {};
  for (const field of paramFields(kind)) {
    const raw = values[field.name];
    if (field.type === 'boolean') {
      params[field.name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw.trim() : '';
    if (text === '') {
      if (!field.optional) errors[`params.${field.name}`] = field.type === 'list' ? 'name at least one' : 'required';
      continue;
    }
    if (field.type === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n)) errors[`params.${field.name}`] = 'must be a number';
      else params[field.name] = n;
    } else if (field.type === 'list') {
      params[field.name] = text
        .split(/\r?\n/)
        .map((s) => s.trim())
        .filter(Boolean);
    } else {
      params[field.name] = text;
    }
  }
  return { params, errors };
}

export type ScopeKind = AlertScope['kind'];

export interface RuleForm {
  key: string;
  name: string;
  kind: AlertRuleKind;
  severity: AlertSeverity;
  enabled: boolean;
  scopeKind: ScopeKind;
  /** The organization, site or device id; the device type for `device_type`. */
  scopeRef: string;
  params: ParamValues;
}

export function emptyRuleForm(kind: AlertRuleKind = 'metric'): RuleForm {
  return {
    key: '',
    name: '',
    kind,
    severity: 'warning',
    enabled: true,
    scopeKind: 'global',
    scopeRef: '',
    params: paramValuesOf(kind, null),
  };
}

/** A rule's form: to edit it, or (`override`) to start a more specific rule of the same key. */
export function ruleFormOf(rule: AlertRule, override = false): RuleForm {
  return {
    key: rule.key,
    name: rule.name,
    kind: rule.kind,
    severity: rule.severity,
    enabled: rule.enabled,
    scopeKind: override ? 'organization' : rule.scope.kind,
    scopeRef: override ? '' : scopeRefOf(rule.scope),
    params: paramValuesOf(rule.kind, rule.params),
  };
}

export function scopeRefOf(scope: AlertScope): string {
  return scope.kind === 'global' ? '' : scope.kind === 'device_type' ? scope.deviceType : scope.id;
}

export function scopeOf(kind: ScopeKind, ref: string): AlertScope {
  if (kind === 'global') return { kind };
  if (kind === 'device_type') return { kind, deviceType: ref as 'scanner' | 'server' };
  return { kind, id: ref };
}

/** The scopes a kind may have: fleet rules judge the fleet, an organization or a device type. */
export function scopeKindsFor(kind: AlertRuleKind): ScopeKind[] {
  const all: ScopeKind[] = ['global', 'device_type', 'organization', 'site', 'device'];
  return FLEET_RULE_KINDS.includes(kind) ? all.filter((k) => k !== 'site' && k !== 'device') : all;
}

/** The body of `POST alert-rules`, checked with the contract, or messages per field ("params.threshold"). */
export function validateNewRule(form: RuleForm): { ok: true; body: CreateAlertRule } | { ok: false; errors: FieldErrors } {
  const { params, errors } = paramsFromValues(form.kind, form.params);
  if (form.scopeKind !== 'global' && !form.scopeRef) errors['scope'] = 'choose what the rule applies to';
  const parsed = CreateAlertRuleSchema.safeParse({
    key: form.key.trim(),
    name: form.name,
    kind: form.kind,
    params,
    severity: form.severity,
    enabled: form.enabled,
    scope: scopeOf(form.scopeKind, form.scopeRef),
  });
  if (parsed.success && Object.keys(errors).length === 0) return { ok: true, body: parsed.data };
  return { ok: false, errors: mergeErrors(errors, parsed.success ? {} : issuesToFields(parsed.error.issues)) };
}

/** The body of `PATCH alert-rules/:id`: name, params, severity and enabled (kind, key and scope are the rule's identity). */
export function validateRuleUpdate(form: RuleForm): { ok: true; body: UpdateAlertRule } | { ok: false; errors: FieldErrors } {
  const { params, errors } = paramsFromValues(form.kind, form.params);
  const checked = ALERT_RULE_PARAMS[form.kind].safeParse(params);
  if (!checked.success) for (const [k, m] of Object.entries(issuesToFields(checked.error.issues))) errors[`params.${k}`] ??= m;
  const parsed = UpdateAlertRuleSchema.safeParse({ name: form.name, params, severity: form.severity, enabled: form.enabled });
  if (parsed.success && Object.keys(errors).length === 0) return { ok: true, body: parsed.data };
  return { ok: false, errors: mergeErrors(errors, parsed.success ? {} : issuesToFields(parsed.error.issues)) };
}

function mergeErrors(first: FieldErrors, second: FieldErrors): FieldErrors {
  const out = { ...first };
  for (const [k, m] of Object.entries(second)) {
    // A scope id problem shows at the scope picker.
    const key = k.startsWith('scope') ? 'scope' : k;
    out[key] ??= m;
  }
  return out;
}

const SCOPE_ORDER: readonly string[] = [...ALERT_SCOPE_PRECEDENCE].reverse();

/**
 * Rules grouped by key (a family overriding each other by scope), groups by name, within a
 * group the global rule first and the most specific last, so the list reads as "default, then
 * exceptions".
 */
export function groupRulesByKey(rules: readonly AlertRule[]): Array<{ key: string; rules: AlertRule[] }> {
  const groups = new Map<string, AlertRule[]>();
  for (const rule of rules) groups.set(rule.key, [...(groups.get(rule.key) ?? []), rule]);
  return [...groups.entries()]
    .map(([key, list]) => ({
      key,
      rules: list.sort((a, b) => SCOPE_ORDER.indexOf(a.scope.kind) - SCOPE_ORDER.indexOf(b.scope.kind) || a.name.localeCompare(b.name)),
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

/** The scope as the operator reads it, with names where known. */
export function scopeText(
  scope: AlertScope,
  names: {
    org?: (id: string) => string | undefined;
    site?: (id: string) => string | undefined;
    device?: (id: string) => string | undefined;
  },
): string {
  switch (scope.kind) {
    case 'global':
      return 'every device';
    case 'device_type':
      return `every ${scope.deviceType}`;
    case 'organization':
      return `organization ${names.org?.(scope.id) ?? scope.id.slice(0, 8)}`;
    case 'site':
      return `site ${names.site?.(scope.id) ?? scope.id.slice(0, 8)}`;
    case 'device':
      return `device ${names.device?.(scope.id) ?? scope.id.slice(0, 8)}`;
  }
}

function duration(seconds: unknown): string {
  if (typeof seconds !== 'number') return '';
  if (seconds === 0) return 'at once';
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** A rule's parameters in a line: "cpu ≥ 90 % for 5 min, clears below 80". */
export function paramsText(kind: AlertRuleKind, params: Record<string, unknown>): string {
  const p = params;
  const list = (v: unknown) => (Array.isArray(v) ? v.join(', ') : '');
  switch (kind) {
    case 'metric': {
      const unit = typeof p.metric === 'string' && !p.metric.startsWith('load') ? ' %' : '';
      const parts = [`${String(p.metric)} ≥ ${String(p.threshold)}${unit}`];
      if (typeof p.forSeconds === 'number') parts.push(p.forSeconds === 0 ? 'at once' : `for ${duration(p.forSeconds)}`);
      let text = parts.join(' ');
      if (p.clearBelow !== undefined) text += `, clears below ${String(p.clearBelow)}${unit}`;
      if (Array.isArray(p.mounts)) text += `, mounts ${list(p.mounts)}`;
      return text;
    }
    case 'unit':
    case 'container': {
      const what = kind === 'unit' ? list(p.units) : list(p.containers);
      let text = `${String(p.condition).replace('_', ' ')}: ${what}`;
      if (typeof p.forSeconds === 'number' && p.forSeconds > 0) text += ` for ${duration(p.forSeconds)}`;
      if (kind === 'container' && p.condition === 'restarting') text += `, ${String(p.restarts)} restarts in ${duration(p.windowSeconds)}`;
      return text;
    }
    case 'offline':
      return `offline for ${duration(p.afterSeconds)}`;
    case 'tunnel':
      return `no handshake for ${duration(p.staleAfterSeconds)}`;
    case 'event':
      return `on ${String(p.eventType)}${p.resolvedBy ? `, resolved by ${String(p.resolvedBy)}` : ''}`;
    case 'agent_outdated':
      return `behind the served build for ${duration(p.forSeconds)}`;
    case 'fleet_offline':
      return `≥ ${String(p.sharePercent)} % of active devices offline${p.clearBelowPercent !== undefined ? `, clears below ${String(p.clearBelowPercent)} %` : ''}`;
    default:
      return Object.entries(params)
        .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(', ') : String(v)}`)
        .join(', ');
  }
}

export const KIND_LABELS: Record<string, string> = {
  metric: 'Metric threshold',
  unit: 'systemd unit',
  container: 'Container',
  offline: 'Device offline',
  tunnel: 'Tunnel handshake',
  event: 'Device event',
  agent_outdated: 'Agent outdated',
  fleet_offline: 'Fleet offline share',
};

export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? humanize(kind);
}
