import {
  CreateAlertTargetSchema,
  UpdateAlertTargetSchema,
  type AlertSeverity,
  type AlertTarget,
  type CreateAlertTarget,
  type DeliveryRouting,
  type UpdateAlertTarget,
} from '@xspectre/contracts';
import { issuesToFields, SEVERITIES, type FieldErrors } from './alerts';

/**
 * The delivery targets' form (BetterStack and webhook), checked with the contract before
 * sending. The token or secret is write-only: the API never returns it, the form starts empty
 * when editing and sends it only when the operator typed a new one.
 */

export const CHANNELS = ['call', 'sms', 'email', 'push'] as const;
export type Channel = (typeof CHANNELS)[number];
export type Policy = Record<AlertSeverity, Record<Channel, boolean>>;

export interface TargetForm {
  kind: 'betterstack' | 'webhook';
  name: string;
  enabled: boolean;
  /** BetterStack's Uptime API base, or the webhook's URL. */
  url: string;
  requesterEmail: string;
  teamName: string;
  policy: Policy;
  /** The token (BetterStack) or HMAC secret (webhook); '' keeps the stored one when editing. */
  secret: string;
  severities: AlertSeverity[];
  /** null: every organization. */
  organizationIds: string[] | null;
  includeFleet: boolean;
  allowPrivateAddress: boolean;
}

/** A sensible start: calls for critical, e-mail for warnings, push only for info. */
export function defaultPolicy(): Policy {
  return {
    critical: { call: true, sms: true, email: true, push: true },
    warning: { call: false, sms: false, email: true, push: true },
    info: { call: false, sms: false, email: false, push: true },
  };
}

export function emptyTargetForm(kind: TargetForm['kind']): TargetForm {
  return {
    kind,
    name: kind === 'betterstack' ? 'BetterStack' : '',
    enabled: true,
    url: kind === 'betterstack' ? 'https://uptime.betterstack.com' : '',
    requesterEmail: '',
    teamName: '',
    policy: defaultPolicy(),
    secret: '',
    severities: ['critical', 'warning'],
    organizationIds: null,
    includeFleet: true,
    allowPrivateAddress: false,
  };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function targetFormOf(target: AlertTarget): TargetForm {
  const c = target.config;
  const policy = defaultPolicy();
  const stored = (c.policy ?? {}) as Partial<Record<AlertSeverity, Partial<Record<Channel, boolean>>>>;
  for (const s of SEVERITIES) for (const ch of CHANNELS) policy[s][ch] = stored[s]?.[ch] === true;
  return {
    kind: target.kind,
    name: target.name,
    enabled: target.enabled,
    url: target.kind === 'betterstack' ? str(c.baseUrl) : str(c.url),
    requesterEmail: str(c.requesterEmail),
    teamName: str(c.teamName),
    policy,
    secret: '',
    severities: [...target.routing.severities],
    organizationIds: target.routing.organizationIds ? [...target.routing.organizationIds] : null,
    includeFleet: target.routing.includeFleet,
    allowPrivateAddress: target.allowPrivateAddress,
  };
}

function configOf(form: TargetForm): Record<string, unknown> {
  if (form.kind === 'webhook') return { url: form.url.trim() };
  return {
    baseUrl: form.url.trim(),
    requesterEmail: form.requesterEmail.trim(),
    policy: form.policy,
    ...(form.teamName.trim() ? { teamName: form.teamName.trim() } : {}),
  };
}

function routingOf(form: TargetForm): DeliveryRouting {
  return {
    severities: SEVERITIES.filter((s) => form.severities.includes(s)),
    organizationIds: form.organizationIds,
    includeFleet: form.includeFleet,
  };
}

/** Contract paths → the form's fields ("config.baseUrl" and "config.url" are both the URL field, the token is "secret"). */
function fieldOf(path: string): string {
  if (path === 'config.baseUrl' || path === 'config.url') return 'url';
  if (path === 'token') return 'secret';
  if (path.startsWith('config.')) return path.slice('config.'.length).split('.')[0]!;
  if (path.startsWith('routing.')) return path.slice('routing.'.length).split('.')[0]!;
  return path;
}

export function targetFieldErrors(errors: FieldErrors): FieldErrors {
  const out: FieldErrors = {};
  for (const [path, message] of Object.entries(errors)) out[fieldOf(path)] ??= message;
  return out;
}

/** The body of `POST alert-targets`, or messages per form field. */
export function validateNewTarget(form: TargetForm): { ok: true; body: CreateAlertTarget } | { ok: false; errors: FieldErrors } {
  const common = { name: form.name, enabled: form.enabled, routing: routingOf(form), allowPrivateAddress: form.allowPrivateAddress };
  const candidate =
    form.kind === 'betterstack'
      ? { kind: 'betterstack' as const, ...common, config: configOf(form), token: form.secret }
      : { kind: 'webhook' as const, ...common, config: configOf(form), secret: form.secret };
  const parsed = CreateAlertTargetSchema.safeParse(candidate);
  if (parsed.success) return { ok: true, body: parsed.data };
  return { ok: false, errors: targetFieldErrors(issuesToFields(parsed.error.issues)) };
}

/** The body of `PATCH alert-targets/:id`: every field, the secret only when a new one was typed. */
export function validateTargetUpdate(form: TargetForm): { ok: true; body: UpdateAlertTarget } | { ok: false; errors: FieldErrors } {
  // The config is checked with the kind's create schema (the update schema takes any record).
  const probe = validateNewTarget({ ...form, secret: form.secret || 'placeholder-secret' });
  const errors: FieldErrors = probe.ok ? {} : probe.errors;
  const parsed = UpdateAlertTargetSchema.safeParse({
    name: form.name,
    enabled: form.enabled,
    routing: routingOf(form),
    allowPrivateAddress: form.allowPrivateAddress,
    config: configOf(form),
    ...(form.secret ? { secret: form.secret } : {}),
  });
  if (parsed.success && Object.keys(errors).length === 0) return { ok: true, body: parsed.data };
  const more = parsed.success ? {} : targetFieldErrors(issuesToFields(parsed.error.issues));
  return { ok: false, errors: { ...more, ...errors } };
}

/** "critical, warning · all organizations · fleet alerts" */
export function routingText(routing: DeliveryRouting, orgName: (id: string) => string | undefined): string {
  const orgs =
    routing.organizationIds === null
      ? 'all organizations'
      : routing.organizationIds.length === 0
        ? 'no organization'
        : routing.organizationIds.map((id) => orgName(id) ?? id.slice(0, 8)).join(', ');
  return [routing.severities.join(', '), orgs, routing.includeFleet ? 'fleet alerts' : null].filter(Boolean).join(' · ');
}
