import type { Alert } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import {
  alertFilterOf,
  alertQuery,
  buildSilence,
  detailsText,
  fromLocalInput,
  liveOutcome,
  matchesAlertFilter,
  mayActOnAlert,
  newAlertsText,
  newerAlert,
  problemFieldErrors,
  silenceScopesOf,
  toLocalInput,
  validateAcknowledge,
  validateResolve,
  type AlertFilter,
  type ListView,
} from './alerts';

const ORG = '3f0c2a3e-7b1d-4c55-9a8e-0d6f1b2c3d4e';
const SITE = '5a1c2a3e-7b1d-4c55-9a8e-0d6f1b2c3d4e';
const DEVICE = '7b2c2a3e-7b1d-4c55-9a8e-0d6f1b2c3d4e';

function alert(changes: Partial<Alert> = {}): Alert {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    ruleId: null,
    ruleKey: 'disk-high',
    kind: 'metric',
    severity: 'warning',
    state: 'open',
    deviceId: DEVICE,
    deviceName: 'acme-01',
    organizationId: ORG,
    organizationName: 'Acme',
    siteId: SITE,
    siteName: 'Berlin',
    subject: '/var',
    title: 'Disk filling',
    details: {},
    silenced: false,
    openedAt: '2026-12-01T10:00:00.000Z',
    acknowledgedAt: null,
    acknowledgedBy: null,
    acknowledgeNote: null,
    resolvedAt: null,
    resolvedBy: null,
    resolution: null,
    resolveNote: null,
    ...changes,
  };
}

const unresolved: AlertFilter = { state: 'unresolved', severity: '', organizationId: '', siteId: '', deviceId: '' };
const view = (changes: Partial<ListView> = {}): ListView => ({
  shownIds: new Set(['22222222-2222-4222-8222-222222222222']),
  pendingIds: new Set(),
  firstPage: true,
  newestOpenedAt: '2026-12-01T09:00:00.000Z',
  empty: false,
  ...changes,
});

describe('alert filter', () => {
  it('reads the URL with the unresolved view as the default and drops unknown values', () => {
    expect(alertFilterOf(new URLSearchParams(''))).toEqual(unresolved);
    expect(alertFilterOf(new URLSearchParams('state=bogus&severity=loud'))).toEqual(unresolved);
    expect(alertFilterOf(new URLSearchParams(`state=resolved&severity=critical&organizationId=${ORG}`))).toMatchObject({
      state: 'resolved',
      severity: 'critical',
      organizationId: ORG,
    });
    // The device tab's device wins over the URL.
    expect(alertFilterOf(new URLSearchParams('deviceId=other'), DEVICE).deviceId).toBe(DEVICE);
  });

  it('asks the API for every state with "all" and leaves empty parts out', () => {
    expect(alertQuery(unresolved)).toEqual({
      state: 'unresolved',
      severity: undefined,
      organizationId: undefined,
      siteId: undefined,
      deviceId: undefined,
    });
    expect(alertQuery({ ...unresolved, state: 'all', siteId: SITE }).state).toBeUndefined();
    expect(alertQuery({ ...unresolved, state: 'all', siteId: SITE }).siteId).toBe(SITE);
  });

  it('matches states, severity and owner', () => {
    expect(matchesAlertFilter(alert(), unresolved)).toBe(true);
    expect(matchesAlertFilter(alert({ state: 'acknowledged' }), unresolved)).toBe(true);
    expect(matchesAlertFilter(alert({ state: 'resolved' }), unresolved)).toBe(false);
    expect(matchesAlertFilter(alert({ state: 'resolved' }), { ...unresolved, state: 'all' })).toBe(true);
    expect(matchesAlertFilter(alert(), { ...unresolved, state: 'acknowledged' })).toBe(false);
    expect(matchesAlertFilter(alert(), { ...unresolved, severity: 'critical' })).toBe(false);
    expect(matchesAlertFilter(alert(), { ...unresolved, organizationId: ORG, siteId: SITE, deviceId: DEVICE })).toBe(true);
    expect(matchesAlertFilter(alert({ deviceId: null }), { ...unresolved, deviceId: DEVICE })).toBe(false);
  });
});

describe('live alerts on a list', () => {
  it('patches rows on screen and never takes a state back', () => {
    const shown = alert({ id: '22222222-2222-4222-8222-222222222222' });
    expect(liveOutcome({ ...shown, state: 'resolved' }, unresolved, view())).toBe('patch');
    const acked = { ...shown, state: 'acknowledged' as const };
    expect(newerAlert(shown, acked)).toBe(acked);
    expect(newerAlert(acked, shown)).toBe(acked);
    const silenced = { ...acked, silenced: true };
    expect(newerAlert(acked, silenced)).toBe(silenced);
  });

  it('counts a new alert for this filter instead of inserting it, once', () => {
    const fresh = alert({ openedAt: '2026-12-01T10:00:00.000Z' });
    expect(liveOutcome(fresh, unresolved, view())).toBe('new');
    expect(liveOutcome(fresh, unresolved, view({ pendingIds: new Set([fresh.id]) }))).toBe('ignore');
    // On a later page the newest is unknown: still counted.
    expect(liveOutcome(fresh, unresolved, view({ firstPage: false, newestOpenedAt: null }))).toBe('new');
    // An empty list has nothing to reflow: read it again.
    expect(liveOutcome(fresh, unresolved, view({ empty: true, shownIds: new Set(), newestOpenedAt: null }))).toBe('reload');
  });

  it('ignores alerts of other filters, state changes of alerts elsewhere and older alerts', () => {
    expect(liveOutcome(alert({ severity: 'info' }), { ...unresolved, severity: 'critical' }, view())).toBe('ignore');
    expect(liveOutcome(alert({ state: 'acknowledged' }), unresolved, view())).toBe('ignore');
    expect(liveOutcome(alert({ state: 'resolved' }), { ...unresolved, state: 'all' }, view())).toBe('ignore');
    expect(liveOutcome(alert({ openedAt: '2026-12-01T08:00:00.000Z' }), unresolved, view())).toBe('ignore');
    expect(liveOutcome(alert({ deviceId: null }), { ...unresolved, deviceId: DEVICE }, view())).toBe('ignore');
  });

  it('says how many are new', () => {
    expect(newAlertsText(1)).toBe('1 new alert');
    expect(newAlertsText(3)).toBe('3 new alerts');
  });
});

describe('who may act', () => {
  const can = (granted: boolean) => () => granted;
  it('needs alerts.ack, and for internal organizations a Super Admin', () => {
    expect(mayActOnAlert(alert(), 'soc_operator', can(true), () => 'customer')).toBe(true);
    expect(mayActOnAlert(alert(), 'soc_operator', can(true), () => 'internal')).toBe(false);
    expect(mayActOnAlert(alert(), 'super_admin', can(true), () => 'internal')).toBe(true);
    expect(mayActOnAlert(alert(), 'read_only', can(false), () => 'customer')).toBe(false);
    // Owner not known yet: wait.
    expect(mayActOnAlert(alert(), 'soc_operator', can(true), () => undefined)).toBe(false);
    // Fleet alerts have no owner.
    expect(mayActOnAlert(alert({ organizationId: null }), 'soc_operator', can(true), () => undefined)).toBe(true);
  });
});

describe('forms', () => {
  it('acknowledges with an optional note and resolves only with one', () => {
    expect(validateAcknowledge('')).toEqual({ ok: true, body: {} });
    expect(validateAcknowledge('  on it ')).toEqual({ ok: true, body: { note: 'on it' } });
    const missing = validateResolve('   ');
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.errors.note).toBe('say why it is resolved');
    expect(validateResolve('replaced the disk')).toEqual({ ok: true, body: { note: 'replaced the disk' } });
    const long = validateResolve('x'.repeat(2001));
    expect(long.ok).toBe(false);
  });

  it('offers the alert’s device, site and organization to silence', () => {
    expect(silenceScopesOf(alert()).map((s) => s.kind)).toEqual(['device', 'site', 'organization']);
    expect(silenceScopesOf(alert({ deviceId: null, siteId: null, organizationId: null }))).toEqual([]);
  });

  it('builds a silence from now for a chosen length, or until a chosen end', () => {
    // The contract wants the end in the future (of the real clock): "now" is the real now.
    const now = Date.now();
    const ok = buildSilence({ scopeKind: 'device', scopeId: DEVICE, startsAt: '', duration: '4h', endsAt: '', reason: 'patching' }, now);
    expect(ok).toEqual({
      ok: true,
      body: {
        scope: { kind: 'device', id: DEVICE },
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + 4 * 3_600_000).toISOString(),
        reason: 'patching',
      },
    });
    const noReason = buildSilence({ scopeKind: 'site', scopeId: SITE, startsAt: '', duration: '1h', endsAt: '', reason: '' }, now);
    expect(noReason.ok ? {} : noReason.errors).toEqual({ reason: 'say why' });
    const noScope = buildSilence({ scopeKind: 'site', scopeId: '', startsAt: '', duration: '1h', endsAt: '', reason: 'x' }, now);
    expect(noScope.ok ? {} : noScope.errors['scope.id']).toBe('choose what to silence');
  });

  it('refuses an end before the start and one that is not a date', () => {
    const now = Date.now();
    const start = new Date(now + 2 * 3_600_000);
    const before = buildSilence(
      {
        scopeKind: 'device',
        scopeId: DEVICE,
        startsAt: toLocalInput(start),
        duration: 'custom',
        endsAt: toLocalInput(new Date(now + 3_600_000)),
        reason: 'x',
      },
      now,
    );
    expect(before.ok ? {} : before.errors.endsAt).toBe('must be after startsAt');
    const garbage = buildSilence(
      { scopeKind: 'device', scopeId: DEVICE, startsAt: '', duration: 'custom', endsAt: 'tomorrow', reason: 'x' },
      now,
    );
    expect(garbage.ok ? {} : garbage.errors.endsAt).toBe('a date and time');
    const tooLong = buildSilence(
      {
        scopeKind: 'device',
        scopeId: DEVICE,
        startsAt: '',
        duration: 'custom',
        endsAt: toLocalInput(new Date(now + 100 * 86_400_000)),
        reason: 'x',
      },
      now,
    );
    expect(tooLong.ok ? {} : tooLong.errors.endsAt).toBe('a silence lasts at most 90 days');
  });

  it('reads and writes datetime-local values in local time', () => {
    const d = fromLocalInput('2026-12-24T18:30');
    expect(d && toLocalInput(d)).toBe('2026-12-24T18:30');
    expect(fromLocalInput('2026-12-24')).toBeNull();
  });

  it('places the API’s errors beside the fields', () => {
    expect(
      problemFieldErrors({
        errors: [
          { path: 'body.params.threshold', message: 'must be at most 100 (percent) for cpu' },
          { path: 'body.params.threshold', message: 'second' },
          { path: 'body', message: 'nothing to change' },
        ],
      }),
    ).toEqual({ 'params.threshold': 'must be at most 100 (percent) for cpu', _: 'nothing to change' });
    expect(problemFieldErrors(undefined)).toEqual({});
  });

  it('reads details as a line', () => {
    expect(detailsText({ value: 91.234, threshold: 90, unit: ' %', mountpoint: '/var' })).toBe(
      'value 91.2 % · threshold 90 % · mountpoint /var',
    );
    expect(detailsText({ nested: { a: 1 } })).toBe('');
  });
});
