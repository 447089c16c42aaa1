import {
  ALERT_STATES,
  CreateSilenceSchema,
  ResolveAlertSchema,
  AcknowledgeAlertSchema,
  canMutateResource,
  type Alert,
  type AlertSeverity,
  type AlertState,
  type CreateSilence,
  type OrganizationKind,
  type Problem,
  type Role,
} from '@xspectre/contracts';

/**
 * The alert pages' pure parts: tones and labels, the list's filter, how a live `alert.changed`
 * meets the list on screen (patched in place, or counted as new without moving the rows), the
 * acknowledge / resolve / silence forms checked with the contract's schemas, and the API's field
 * errors placed beside the fields. The pages (`app/(console)/alerts`, the device's alerts tab) read
 * it; its tests are beside it.
 */

/** A badge's colour (the same names as `components/ui.tsx` Tone). */
export type AlertTone = 'ok' | 'warn' | 'bad' | 'neutral' | 'info';

export const SEVERITIES: readonly AlertSeverity[] = ['critical', 'warning', 'info'];
export const SEVERITY_TONE: Record<AlertSeverity, AlertTone> = { critical: 'bad', warning: 'warn', info: 'info' };
export const STATE_TONE: Record<AlertState, AlertTone> = { open: 'bad', acknowledged: 'warn', resolved: 'ok' };

/** The state filter's choices; `unresolved` (open or acknowledged) is the default view. */
export const STATE_FILTERS = ['unresolved', ...ALERT_STATES, 'all'] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];
export const DEFAULT_STATE_FILTER: StateFilter = 'unresolved';

export interface AlertFilter {
  state: StateFilter;
  severity: AlertSeverity | '';
  organizationId: string;
  siteId: string;
  deviceId: string;
}

/** The filter from the URL's parameters (unknown values fall back to the default view). */
export function alertFilterOf(params: URLSearchParams, fixedDeviceId?: string): AlertFilter {
  const state = params.get('state') as StateFilter | null;
  const severity = params.get('severity') as AlertSeverity | null;
  return {
    state: state && STATE_FILTERS.includes(state) ? state : DEFAULT_STATE_FILTER,
    severity: severity && SEVERITIES.includes(severity) ? severity : '',
    organizationId: params.get('organizationId') ?? '',
    siteId: params.get('siteId') ?? '',
    deviceId: fixedDeviceId ?? params.get('deviceId') ?? '',
  };
}

/** The query of `GET alerts` for a filter (empty parts left out; `all` asks for every state). */
export function alertQuery(filter: AlertFilter): Record<string, string | undefined> {
  return {
    state: filter.state === 'all' ? undefined : filter.state,
    severity: filter.severity || undefined,
    organizationId: filter.organizationId || undefined,
    siteId: filter.siteId || undefined,
    deviceId: filter.deviceId || undefined,
  };
}

export function matchesAlertFilter(alert: Alert, filter: AlertFilter): boolean {
  if (filter.state === 'unresolved' ? alert.state === 'resolved' : filter.state !== 'all' && alert.state !== filter.state) return false;
  if (filter.severity && alert.severity !== filter.severity) return false;
  if (filter.organizationId && alert.organizationId !== filter.organizationId) return false;
  if (filter.siteId && alert.siteId !== filter.siteId) return false;
  if (filter.deviceId && alert.deviceId !== filter.deviceId) return false;
  return true;
}

const STATE_RANK: Record<AlertState, number> = { open: 0, acknowledged: 1, resolved: 2 };

/**
 * The newer of two versions of one alert: states only move forward (open → acknowledged →
 * resolved), so a live message never takes a row back; at the same state the live one wins (a
 * silence changed). A page read before the message but answered after it is thus harmless.
 */
export function newerAlert(current: Alert, live: Alert): Alert {
  return STATE_RANK[live.state] >= STATE_RANK[current.state] ? live : current;
}

/** What the list on screen holds, for deciding what a live message means to it. */
export interface ListView {
  /** The alerts on the page shown. */
  shownIds: ReadonlySet<string>;
  /** New alerts already counted in the "N new" bar. */
  pendingIds: ReadonlySet<string>;
  /** The page shown is the first one (newest first). */
  firstPage: boolean;
  /** The newest `openedAt` on the first page, when it is shown. */
  newestOpenedAt: string | null;
  /** The page is empty: a new alert can appear without moving anything the operator reads. */
  empty: boolean;
}

/**
 * `patch`: the alert is on screen, its row changes in place (a resolved alert stays where it is,
 * marked resolved, until the operator reloads the view). `new`: an alert for this filter the page
 * does not hold; counted in the bar, not inserted, so nothing the operator reads moves. `reload`:
 * the page is empty, nothing to reflow, read it again. `ignore`: not for this view, or older than
 * the newest on the first page (it belongs further down, where it changes nothing on screen).
 */
export type LiveOutcome = 'patch' | 'new' | 'reload' | 'ignore';

export function liveOutcome(alert: Alert, filter: AlertFilter, view: ListView): LiveOutcome {
  if (view.shownIds.has(alert.id)) return 'patch';
  if (view.pendingIds.has(alert.id)) return 'ignore';
  if (!matchesAlertFilter(alert, filter)) return 'ignore';
  // Only an alert that opened just now is news; an acknowledge or resolve of an alert that is
  // not on screen belongs to another page.
  if (alert.state !== 'open') return 'ignore';
  if (view.firstPage && view.newestOpenedAt && Date.parse(alert.openedAt) < Date.parse(view.newestOpenedAt)) return 'ignore';
  return view.empty ? 'reload' : 'new';
}

/** "1 new alert" / "3 new alerts". */
export function newAlertsText(count: number): string {
  return `${count} new alert${count === 1 ? '' : 's'}`;
}

/**
 * Whether this operator may acknowledge, resolve and silence the alert: `alerts.ack`, and for a
 * device of an internal organization only Super Admins (the API checks the same). A fleet alert
 * has no owner and follows the permission alone.
 */
export function mayActOnAlert(
  alert: Pick<Alert, 'organizationId'>,
  role: Role,
  can: (p: 'alerts.ack') => boolean,
  orgKind: (id: string) => OrganizationKind | undefined,
): boolean {
  if (!can('alerts.ack')) return false;
  if (!alert.organizationId) return true;
  const kind = orgKind(alert.organizationId);
  // Until the owner is known the actions wait (internal infrastructure is read-only for SOC operators).
  return kind !== undefined && canMutateResource(role, kind);
}

/** A short reading of an alert's details: the value that opened it and the threshold. */
export function detailsText(details: Record<string, unknown>): string {
  const parts: string[] = [];
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? (Math.round(v * 10) / 10).toString() : null);
  const value = num(details.value);
  const threshold = num(details.threshold);
  const unit = typeof details.unit === 'string' ? details.unit : '';
  if (value !== null) parts.push(`value ${value}${unit}`);
  if (threshold !== null) parts.push(`threshold ${threshold}${unit}`);
  for (const [key, v] of Object.entries(details)) {
    if (['value', 'threshold', 'unit'].includes(key)) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') parts.push(`${key} ${String(v)}`);
    if (parts.length >= 5) break;
  }
  return parts.join(' · ');
}

// ---- The forms ---------------------------------------------------------------------------

export type FieldErrors = Record<string, string>;

/** The first message per field of a zod error, keyed by the dotted path ("params.threshold"). */
export function issuesToFields(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const key = issue.path.map(String).join('.') || '_';
    errors[key] ??= issue.message;
  }
  return errors;
}

/**
 * The API's `errors` (problem+json) keyed like the form's fields: its paths name where the value
 * was (`body.params.threshold`), the form knows it as `params.threshold`. What no field shows stays
 * in the problem box under the form.
 */
export function problemFieldErrors(problem: Pick<Problem, 'errors'> | undefined): FieldErrors {
  const errors: FieldErrors = {};
  for (const e of problem?.errors ?? []) {
    const key = e.path.replace(/^(body|query|path)\.?/, '') || '_';
    errors[key] ??= e.message;
  }
  return errors;
}

export function validateAcknowledge(note: string): { ok: true; body: { note?: string } } | { ok: false; errors: FieldErrors } {
  const parsed = AcknowledgeAlertSchema.safeParse(note.trim() ? { note } : {});
  return parsed.success ? { ok: true, body: parsed.data } : { ok: false, errors: issuesToFields(parsed.error.issues) };
}

export function validateResolve(note: string): { ok: true; body: { note: string } } | { ok: false; errors: FieldErrors } {
  const parsed = ResolveAlertSchema.safeParse({ note });
  return parsed.success ? { ok: true, body: parsed.data } : { ok: false, errors: issuesToFields(parsed.error.issues) };
}

export type SilenceScopeKind = CreateSilence['scope']['kind'];

/** What a silence made from an alert can cover: its device, site or organization (those it has). */
export function silenceScopesOf(
  alert: Pick<Alert, 'deviceId' | 'deviceName' | 'siteId' | 'siteName' | 'organizationId' | 'organizationName'>,
) {
  const scopes: Array<{ kind: SilenceScopeKind; id: string; label: string }> = [];
  if (alert.deviceId) scopes.push({ kind: 'device', id: alert.deviceId, label: `the device ${alert.deviceName ?? alert.deviceId}` });
  if (alert.siteId) scopes.push({ kind: 'site', id: alert.siteId, label: `the site ${alert.siteName ?? alert.siteId}` });
  if (alert.organizationId)
    scopes.push({
      kind: 'organization',
      id: alert.organizationId,
      label: `the organization ${alert.organizationName ?? alert.organizationId}`,
    });
  return scopes;
}

/** Ready-made silence lengths; `custom` takes an end from a date-time field. */
export const SILENCE_DURATIONS = [
  { value: '1h', label: '1 hour', ms: 3_600_000 },
  { value: '4h', label: '4 hours', ms: 4 * 3_600_000 },
  { value: '24h', label: '24 hours', ms: 86_400_000 },
  { value: '3d', label: '3 days', ms: 3 * 86_400_000 },
  { value: '7d', label: '7 days', ms: 7 * 86_400_000 },
] as const;

export interface SilenceForm {
  scopeKind: SilenceScopeKind;
  scopeId: string;
  /** '' for now; else a `datetime-local` value (the browser's local time). */
  startsAt: string;
  /** A SILENCE_DURATIONS value, or 'custom' with `endsAt`. */
  duration: string;
  /** A `datetime-local` value, for 'custom'. */
  endsAt: string;
  reason: string;
}

/** A `datetime-local` value (local time, no zone) as an instant; null when it does not parse. */
export function fromLocalInput(value: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** An instant as a `datetime-local` value in the browser's time zone. */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The body of `POST silences`, checked with the contract (end after start, in the future, at most 90 days), or messages per field. */
export function buildSilence(form: SilenceForm, now: number): { ok: true; body: CreateSilence } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const start = form.startsAt ? fromLocalInput(form.startsAt) : new Date(now);
  if (!start) errors.startsAt = 'a date and time';
  let end: Date | null = null;
  if (form.duration === 'custom') {
    end = fromLocalInput(form.endsAt);
    if (!end) errors.endsAt = 'a date and time';
  } else {
    const preset = SILENCE_DURATIONS.find((d) => d.value === form.duration);
    if (!preset) errors.endsAt = 'choose how long';
    else if (start) end = new Date(start.getTime() + preset.ms);
  }
  if (!form.scopeId) errors['scope.id'] = 'choose what to silence';
  const parsed = CreateSilenceSchema.safeParse({
    scope: { kind: form.scopeKind, id: form.scopeId },
    startsAt: (start ?? new Date(now)).toISOString(),
    endsAt: (end ?? new Date(now + 3_600_000)).toISOString(),
    reason: form.reason,
  });
  if (parsed.success && Object.keys(errors).length === 0) return { ok: true, body: parsed.data };
  const fromSchema = parsed.success ? {} : issuesToFields(parsed.error.issues);
  for (const [key, message] of Object.entries(fromSchema)) errors[key === 'scope.kind' ? 'scope.id' : key] ??= message;
  return { ok: false, errors };
}
