import { SENSITIVE_HOST, SENSITIVE_HOSTNAME, SENSITIVE_PORT, SENSITIVE_RESULT, type GvmdFixture } from './fixture.js';
import { el, ok } from './responses.js';

/**
 * Results of the fixture's reports for get_results and get_reports with details, written to the
 * element shapes of gvmd's documented GMP schema (a result: host with hostname, port, nvt with
 * oid/name/severity, severity, qod, description). Every report of the fixture has the same
 * results. Hosts, ports and descriptions are what a report summary must never carry; NVT names
 * and oids it may.
 */
export interface FixtureResult {
  id: string;
  host: string;
  port: string;
  nvtOid: string;
  nvtName: string;
  severity: number;
}

const OID = (n: number) => `1.3.6.1.4.1.25623.1.0.${100000 + n}`;
export const OTHER_HOSTS = ['192.0.2.78', '192.0.2.79'];

export const FIXTURE_RESULTS: FixtureResult[] = [
  { n: 1, host: SENSITIVE_HOST, port: '443/tcp', nvt: 'Fixture: outdated TLS library', severity: 9.8 },
  { n: 1, host: OTHER_HOSTS[0]!, port: '443/tcp', nvt: 'Fixture: outdated TLS library', severity: 9.8 },
  { n: 3, host: SENSITIVE_HOST, port: '80/tcp', nvt: 'Fixture: HTTP TRACE enabled', severity: 5.8 },
  { n: 3, host: OTHER_HOSTS[0]!, port: '80/tcp', nvt: 'Fixture: HTTP TRACE enabled', severity: 5.8 },
  { n: 3, host: OTHER_HOSTS[1]!, port: SENSITIVE_PORT, nvt: 'Fixture: HTTP TRACE enabled', severity: 5.8 },
  { n: 2, host: SENSITIVE_HOST, port: '22/tcp', nvt: 'Fixture: weak SSH ciphers', severity: 5.3 },
  { n: 4, host: SENSITIVE_HOST, port: 'general/tcp', nvt: 'Fixture: TCP timestamps', severity: 2.6 },
  { n: 5, host: OTHER_HOSTS[1]!, port: 'general/tcp', nvt: 'Fixture: OS detection', severity: 0 },
].map((r, i) => ({
  id: `a0b1c2d3-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
  host: r.host,
  port: r.port,
  nvtOid: OID(r.n),
  nvtName: r.nvt,
  severity: r.severity,
}));

const t = (name: string, text: string | number) => el(name, {}, String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;'));

function resultElement(r: FixtureResult): string {
  return el(
    'result',
    { id: r.id },
    t('name', r.nvtName) +
      el('owner', {}, t('name', 'admin')) +
      t('creation_time', '2026-11-30T02:40:00Z') +
      el('host', {}, `${r.host}${el('asset', { asset_id: 'b7a0e9c1-0000-4000-8000-000000000001' })}${t('hostname', SENSITIVE_HOSTNAME)}`) +
      t('port', r.port) +
      el(
        'nvt',
        { oid: r.nvtOid },
        t('type', 'nvt') +
          t('name', r.nvtName) +
          t('family', 'Fixture') +
          t('cvss_base', r.severity.toFixed(1)) +
          t('severity', r.severity.toFixed(1)),
      ) +
      t('scan_nvt_version', '2026-11-01T00:00:00Z') +
      t('threat', r.severity >= 7 ? 'High' : r.severity >= 4 ? 'Medium' : r.severity > 0 ? 'Low' : 'Log') +
      t('severity', r.severity.toFixed(1)) +
      el('qod', {}, t('value', 80) + t('type', 'remote_banner')) +
      t('description', `${SENSITIVE_RESULT} on ${r.host}:${r.port}`),
  );
}

const level = (s: number) => (s >= 9 ? 'critical' : s >= 7 ? 'high' : s >= 4 ? 'medium' : s > 0 ? 'low' : 'log');

/** The fixture's report ids (last and current reports of its tasks). */
function reportIds(fixture: GvmdFixture): string[] {
  return fixture.tasks.flatMap((task) => [task.lastReport?.id, task.currentReport?.id].filter((id): id is string => !!id));
}

/** get_results: `report_id=`, `severity>X`, `sort-reverse=severity`, `first`, `rows` of the filter; an unknown report has no results. */
export function resultsAnswer(fixture: GvmdFixture, filter: string): string {
  const reportId = /(?:^|\s)report_id=([0-9a-f-]+)/.exec(filter)?.[1];
  const above = /(?:^|\s)severity>(-?[\d.]+)/.exec(filter)?.[1];
  const first = Math.max(1, Number(/(?:^|\s)first=(\d+)/.exec(filter)?.[1] ?? '1'));
  const rows = Number(/(?:^|\s)rows=(-?\d+)/.exec(filter)?.[1] ?? '10');
  let all = reportId !== undefined && reportIds(fixture).includes(reportId) ? [...FIXTURE_RESULTS] : [];
  if (above !== undefined) all = all.filter((r) => r.severity > Number(above));
  if (/sort-reverse=severity/.test(filter)) all.sort((a, b) => b.severity - a.severity);
  const page = all.slice(first - 1, rows < 0 ? undefined : first - 1 + rows);
  return ok(
    'get_results',
    page.map(resultElement).join('') +
      el('filters', { id: '' }, t('term', filter)) +
      el('results', { start: String(first), max: String(rows) }) +
      el('result_count', {}, `${all.length}${t('filtered', all.length)}${t('page', page.length)}`),
  );
}

/** get_reports of one report with details: task, scan times, hosts, result counts by level (gvmd's full/filtered), a page of results. */
export function reportDetailsAnswer(fixture: GvmdFixture, reportId: string | undefined): string | null {
  const task = fixture.tasks.find((x) => x.lastReport?.id === reportId || x.currentReport?.id === reportId);
  if (!task || reportId === undefined) return null;
  const report = task.lastReport?.id === reportId ? task.lastReport : null;
  const counts: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, log: 0, false_positive: 0 };
  for (const r of FIXTURE_RESULTS) counts[level(r.severity)]! += 1;
  const c = (name: string, n: number, deprecated = false) =>
    el(name, deprecated ? { deprecated: '1' } : {}, t('full', n) + t('filtered', n));
  const resultCount = el(
    'result_count',
    {},
    `${FIXTURE_RESULTS.length}${t('full', FIXTURE_RESULTS.length)}${t('filtered', FIXTURE_RESULTS.length)}` +
      c('critical', counts.critical!) +
      c('hole', counts.high!, true) +
      c('high', counts.high!) +
      c('info', counts.low!, true) +
      c('low', counts.low!) +
      c('log', counts.log!) +
      c('warning', counts.medium!, true) +
      c('medium', counts.medium!) +
      c('false_positive', 0),
  );
  const hosts = new Set(FIXTURE_RESULTS.map((r) => r.host));
  const inner = el(
    'report',
    { id: reportId },
    t('scan_run_status', task.status) +
      el('hosts', {}, t('count', hosts.size)) +
      el('task', { id: task.id }, t('name', task.name) + t('comment', `check ${SENSITIVE_HOSTNAME}`)) +
      t('timestamp', report?.scanStart ?? task.currentReport?.scanStart ?? '') +
      t('scan_start', report?.scanStart ?? task.currentReport?.scanStart ?? '') +
      el('results', { start: '1', max: '1' }, resultElement(FIXTURE_RESULTS[0]!)) +
      resultCount +
      [...hosts].map((h) => el('host', {}, t('ip', h) + t('start', report?.scanStart ?? ''))).join('') +
      (report ? t('scan_end', report.scanEnd) : el('scan_end', {}, '')) +
      el('errors', {}, t('count', report?.errors ?? 0)),
  );
  return ok(
    'get_reports',
    el(
      'report',
      { id: reportId, format_id: 'a994b278-1f62-11e1-96ac-406186ea4fc5', extension: 'xml', content_type: 'text/xml' },
      el('owner', {}, t('name', 'admin')) + t('name', report?.scanStart ?? '') + el('task', { id: task.id }, t('name', task.name)) + inner,
    ),
  );
}
