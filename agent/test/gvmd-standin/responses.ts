import {
  SENSITIVE_HOST,
  SENSITIVE_HOSTNAME,
  SENSITIVE_NVT,
  SENSITIVE_PORT,
  SENSITIVE_RESULT,
  type FixtureTask,
  type GvmdFixture,
} from './fixture.js';
import type { GvmdProfile } from './profiles.js';

/**
 * The stand-in's answers, written to the element shapes of gvmd's documented GMP schema
 * (GMP.xml of gvmd: get_version, authenticate, get_feeds, get_scanners, verify_scanner,
 * get_tasks, get_targets, get_credentials, get_reports, get_features) and to gvmd's status
 * rules. Its own small XML writer: the stand-in shares no code with the client it tests.
 */

const esc = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function el(name: string, attributes: Record<string, string> = {}, inner?: string): string {
  const attrs = Object.entries(attributes)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join('');
  return inner === undefined ? `<${name}${attrs}/>` : `<${name}${attrs}>${inner}</${name}>`;
}
const t = (name: string, text: string | number) => el(name, {}, esc(String(text)));

export const ok = (command: string, inner: string) => el(`${command}_response`, { status: '200', status_text: 'OK' }, inner);
export const statusOnly = (command: string, status: string, text: string) => el(`${command}_response`, { status, status_text: text });

export const versionAnswer = (profile: GvmdProfile) => ok('get_version', t('version', profile.gmpVersion));
export const authenticateAnswer = () => ok('authenticate', t('role', 'Admin') + t('timezone', 'UTC') + t('severity', 'nist'));

export interface FeedState {
  syncing: boolean;
  scannerDown: boolean;
}

export function feedsAnswer(fixture: GvmdFixture, state: FeedState): string {
  let inner = t('feed_owner_set', 1) + t('feed_roles_set', 0) + t('feed_resources_access', 1);
  for (const feed of fixture.feeds) {
    let body = t('type', feed.type) + t('name', feed.name) + t('version', feed.version) + t('description', `${feed.name} (fixture)`);
    if (feed.type === 'NVT' && state.scannerDown) {
      // gvmd's shape when it cannot ask the scanner: empty fields plus the reason.
      body =
        t('type', 'NVT') +
        el('name', {}, '') +
        el('version', {}, '') +
        el('description', {}, '') +
        el('sync_not_available', {}, t('error', 'Could not connect to scanner to get feed info'));
    } else if (state.syncing) {
      // The NVT sync lock carries no time; the data feeds' lock file does.
      body += el('currently_syncing', {}, feed.type === 'NVT' ? el('timestamp', {}, '') : t('timestamp', '2026-12-04T03:55:10Z'));
    }
    inner += el('feed', {}, body);
  }
  return ok('get_feeds', inner);
}

export function scannersAnswer(fixture: GvmdFixture): string {
  const inner = fixture.scanners
    .map((s) =>
      el(
        'scanner',
        { id: s.id },
        el('owner', {}, t('name', 'admin')) +
          t('name', s.name) +
          el('comment', {}, '') +
          t('creation_time', '2026-01-10T09:00:00Z') +
          t('modification_time', '2026-01-10T09:00:00Z') +
          t('writable', 0) +
          t('in_use', 1) +
          el('permissions', {}, el('permission', {}, t('name', 'Everything'))) +
          t('host', s.host) +
          t('port', s.port) +
          t('type', s.type) +
          el('ca_pub', {}, '') +
          el('credential', { id: '' }, el('name', {}, '') + t('trash', 0)),
      ),
    )
    .join('');
  const n = fixture.scanners.length;
  return ok(
    'get_scanners',
    inner +
      el('filters', { id: '' }, t('term', `first=1 rows=${n}`)) +
      el('scanners', { start: '1', max: String(n) }) +
      el('scanner_count', {}, `${n}${t('filtered', n)}${t('page', n)}`),
  );
}

function resultCount(task: FixtureTask, profile: GvmdProfile): string {
  const c = task.lastReport!.counts;
  if (profile.severityNames === 'hole-warning-info') {
    return el(
      'result_count',
      {},
      t('hole', c.high) + t('info', c.low) + t('log', c.log) + t('warning', c.medium) + t('false_positive', c.falsePositive),
    );
  }
  const dep = (name: string, n: number) => el(name, { deprecated: '1' }, String(n));
  return el(
    'result_count',
    {},
    (profile.hasCritical ? t('critical', c.critical) : '') +
      dep('hole', c.high) +
      t('high', c.high) +
      dep('info', c.low) +
      t('low', c.low) +
      t('log', c.log) +
      dep('warning', c.medium) +
      t('medium', c.medium) +
      t('false_positive', c.falsePositive),
  );
}

function taskElement(task: FixtureTask, profile: GvmdProfile): string {
  const current = task.currentReport
    ? el(
        'current_report',
        {},
        el(
          'report',
          { id: task.currentReport.id },
          t('timestamp', task.currentReport.scanStart) + t('scan_start', task.currentReport.scanStart) + el('scan_end', {}, ''),
        ),
      )
    : '';
  let last = '';
  if (task.lastReport) {
    const r = task.lastReport;
    const counts =
      task.usageType === 'audit'
        ? el('compliance_count', {}, t('yes', 10) + t('no', 2) + t('incomplete', 1))
        : resultCount(task, profile) + t('severity', '9.8');
    last = el(
      'last_report',
      {},
      el('report', { id: r.id }, t('timestamp', r.scanStart) + t('scan_start', r.scanStart) + t('scan_end', r.scanEnd) + counts),
    );
  }
  const schedule = task.icalendar
    ? el(
        'schedule',
        { id: 'c5a9e1f0-0000-4000-8000-000000000001' },
        t('name', 'Weekly') + t('trash', 0) + t('icalendar', task.icalendar) + t('timezone', 'UTC'),
      )
    : el('schedule', { id: '' }, el('name', {}, '') + t('trash', 0));
  return el(
    'task',
    { id: task.id },
    el('owner', {}, t('name', 'admin')) +
      t('name', task.name) +
      // Operators write hosts and findings into comments; gvmd sends them back.
      t('comment', `check ${SENSITIVE_HOSTNAME} ${SENSITIVE_NVT}`) +
      t('creation_time', '2026-01-10T09:00:00Z') +
      t('modification_time', '2026-01-10T09:00:00Z') +
      t('writable', 1) +
      t('in_use', 0) +
      el('permissions', {}, el('permission', {}, t('name', 'Everything'))) +
      t('alterable', 0) +
      t('usage_type', task.usageType) +
      el('config', { id: 'daba56c8-73ec-11df-a475-002264764cea' }, t('name', 'Full and fast') + t('trash', 0)) +
      el('target', { id: 'b493b7a8-7489-11df-a3ec-002264764cea' }, t('name', `Target ${SENSITIVE_HOST}`) + t('trash', 0)) +
      t('hosts_ordering', 'sequential') +
      el('scanner', { id: '08b69003-5fc2-4037-a479-93b440211c73' }, t('name', 'OpenVAS Default') + t('type', 2)) +
      el('observers', {}, '') +
      schedule +
      t('schedule_periods', 0) +
      el('report_count', {}, `${task.lastReport ? 1 : 0}${t('finished', task.lastReport ? 1 : 0)}`) +
      t('trend', '') +
      t('status', task.status) +
      t('progress', task.progress) +
      current +
      last +
      (task.averageDuration === null ? '' : t('average_duration', task.averageDuration)) +
      el(
        'preferences',
        {},
        el('preference', {}, t('name', 'Maximum concurrently scanned hosts') + t('scanner_name', 'max_hosts') + t('value', 20)),
      ),
  );
}

/** get_tasks with gvmd's paging: first/rows of the filter, default 10 rows. */
export function tasksAnswer(fixture: GvmdFixture, profile: GvmdProfile, filter: string, maxRows = 1000): string {
  const first = Math.max(1, Number(/(?:^|\s)first=(\d+)/.exec(filter)?.[1] ?? '1'));
  const asked = Number(/(?:^|\s)rows=(-?\d+)/.exec(filter)?.[1] ?? '10');
  const rows = asked < 0 ? maxRows : Math.min(asked, maxRows);
  const all = fixture.tasks;
  const page = all.slice(first - 1, first - 1 + rows);
  const inner =
    t('apply_overrides', 0) +
    page.map((task) => taskElement(task, profile)).join('') +
    el('filters', { id: '' }, t('term', filter)) +
    el('sort', {}, el('field', {}, `name${t('order', 'ascending')}`)) +
    el('tasks', { start: String(first), max: String(rows) }) +
    el('task_count', {}, `${all.length}${t('filtered', all.length)}${t('page', page.length)}`);
  return ok('get_tasks', inner);
}

/** get_targets/get_credentials rows=1: one object (with what must not leave) plus the count. */
export function countedAnswer(command: 'get_targets' | 'get_credentials', total: number): string {
  const item =
    command === 'get_targets'
      ? el(
          'target',
          { id: 'b493b7a8-7489-11df-a3ec-002264764cea' },
          t('name', `Target ${SENSITIVE_HOST}`) +
            t('hosts', `${SENSITIVE_HOST}, ${SENSITIVE_HOSTNAME}`) +
            el('port_list', { id: '33d0cd82-57c6-11e1-8ed1-406186ea4fc5' }, t('name', `ports ${SENSITIVE_PORT}`)),
        )
      : el(
          'credential',
          { id: '6da5b7de-92ad-4dd2-8610-d5711b9c5937' },
          t('name', 'ssh scan user') + t('login', 'scanuser') + t('type', 'up'),
        );
  const kind = command === 'get_targets' ? 'target' : 'credential';
  return ok(
    command,
    item + el(`${kind}s`, { start: '1', max: '1' }) + el(`${kind}_count`, {}, `${total}${t('filtered', total)}${t('page', 1)}`),
  );
}

/** A report with results and errors, sent whatever `details` says (as if an older gvmd ignored it). */
function reportElement(id: string, errors: number): string {
  const result = el(
    'result',
    { id: 'f1e2d3c4-0000-4000-8000-000000000001' },
    t('name', SENSITIVE_NVT) +
      el('host', {}, `${esc(SENSITIVE_HOST)}${t('hostname', SENSITIVE_HOSTNAME)}`) +
      t('port', SENSITIVE_PORT) +
      el('nvt', { oid: '1.3.6.1.4.1.25623.1.0.999999' }, t('name', SENSITIVE_NVT)) +
      t('description', SENSITIVE_RESULT),
  );
  const error = el(
    'error',
    {},
    el('host', {}, esc(SENSITIVE_HOST)) +
      t('port', SENSITIVE_PORT) +
      t('description', `NVT timed out: ${SENSITIVE_NVT}`) +
      el('nvt', { oid: '1.3.6.1.4.1.25623.1.0.999999' }, t('name', SENSITIVE_NVT)),
  );
  const inner = el(
    'report',
    { id },
    el('results', { start: '1', max: '1' }, result) +
      el('result_count', {}, `1${t('full', 1)}${t('filtered', 1)}${el('high', {}, t('full', 1) + t('filtered', 1))}`) +
      el('errors', {}, `${t('count', errors)}${error}`),
  );
  return el(
    'report',
    { id, format_id: '', extension: 'xml', content_type: 'text/xml' },
    el('owner', {}, t('name', 'admin')) + t('name', '2026-11-30T02:00:04Z') + inner,
  );
}

export function reportsAnswer(fixture: GvmdFixture, reportId: string | undefined): string | null {
  const reports = fixture.tasks.flatMap((task) => (task.lastReport ? [task.lastReport] : []));
  if (reportId !== undefined) {
    const report = reports.find((r) => r.id === reportId);
    return report ? ok('get_reports', reportElement(report.id, report.errors)) : null;
  }
  const first = reports[0];
  return ok(
    'get_reports',
    (first ? reportElement(first.id, first.errors) : '') +
      el('reports', { start: '1', max: '1' }) +
      el('report_count', {}, `${reports.length}${t('filtered', reports.length)}${t('page', first ? 1 : 0)}`),
  );
}

export function featuresAnswer(profile: GvmdProfile): string | null {
  if (profile.features === 'none') return null;
  if (profile.features === 'v23')
    return ok(
      'get_features',
      el('feature', { enabled: '0' }, t('name', 'CVSS3_RATINGS')) + el('feature', { enabled: '0' }, t('name', 'OPENVASD')),
    );
  const f = (name: string, enabled: boolean) =>
    el('feature', { compiled_in: enabled ? '1' : '0', enabled: enabled ? '1' : '0' }, t('name', name));
  return ok(
    'get_features',
    f('ENABLE_OPENVASD', false) +
      f('ENABLE_CONTAINER_SCANNING', false) +
      f('ENABLE_AGENTS', false) +
      f('ENABLE_CREDENTIAL_STORES', false) +
      f('FEED_VT_METADATA', true),
  );
}
