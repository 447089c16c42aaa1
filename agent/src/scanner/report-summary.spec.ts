import { describe, expect, it } from 'vitest';
import { ScannerReportSummarySchema } from '@xspectre/contracts';
import { parseGmpXml } from '../gmp/xml.js';
import { GmpError } from '../gmp/errors.js';
import { makeFixture, SENSITIVE_STRINGS } from '../../test/gvmd-standin/index.js';
import { OTHER_HOSTS } from '../../test/gvmd-standin/results.js';
import { reportDetailsAnswer, resultsAnswer } from '../../test/gvmd-standin/results.js';
import { buildReportSummary, readReportHead, readResultRows, reportSummaryFailure, topFindings } from './report-summary.js';

const fixture = makeFixture();
const reportId = fixture.tasks[0]!.lastReport!.id;

describe('report summary from gvmd answers', () => {
  it('folds results into one finding per NVT with its number of hosts, by severity', () => {
    const rows = readResultRows(parseGmpXml(resultsAnswer(fixture, `report_id=${reportId} rows=100 first=1`)).root);
    expect(rows).toHaveLength(7); // the log result (severity 0) is not a finding
    expect(topFindings(rows, 20)).toEqual([
      { nvtOid: '1.3.6.1.4.1.25623.1.0.100001', name: 'Fixture: outdated TLS library', severity: 9.8, hosts: 2 },
      { nvtOid: '1.3.6.1.4.1.25623.1.0.100003', name: 'Fixture: HTTP TRACE enabled', severity: 5.8, hosts: 3 },
      { nvtOid: '1.3.6.1.4.1.25623.1.0.100002', name: 'Fixture: weak SSH ciphers', severity: 5.3, hosts: 1 },
      { nvtOid: '1.3.6.1.4.1.25623.1.0.100004', name: 'Fixture: TCP timestamps', severity: 2.6, hosts: 1 },
    ]);
    expect(topFindings(rows, 2).map((f) => f.nvtOid)).toEqual(['1.3.6.1.4.1.25623.1.0.100001', '1.3.6.1.4.1.25623.1.0.100003']);
  });

  it('reads counts, hosts, task and times from the report, and the summary carries no host, port or result text', () => {
    const head = readReportHead(parseGmpXml(reportDetailsAnswer(fixture, reportId)!).root);
    expect(head).toEqual({
      taskName: fixture.tasks[0]!.name,
      scanStartedAt: '2026-11-30T02:00:04.000Z',
      scanEndedAt: '2026-11-30T02:12:44.000Z',
      counts: { critical: 2, high: 0, medium: 4, low: 1, log: 1, falsePositive: 0 },
      hostCount: 3,
    });
    const rows = readResultRows(parseGmpXml(resultsAnswer(fixture, `report_id=${reportId} rows=100`)).root);
    const summary = buildReportSummary(reportId, head, rows, 20);
    expect(ScannerReportSummarySchema.parse(summary)).toEqual(summary);
    const text = JSON.stringify(summary);
    for (const s of [...SENSITIVE_STRINGS, ...OTHER_HOSTS, '443/tcp', '22/tcp', 'general/tcp']) expect(text).not.toContain(s);
  });

  it('skips malformed results rather than guessing', () => {
    const xml =
      '<get_results_response status="200" status_text="OK">' +
      '<result id="a"><host>h</host><nvt><name>no oid</name></nvt><severity>9.0</severity></result>' +
      '<result id="b"><host>h</host><nvt oid="1.2.3"><name>bad severity</name></nvt><severity>high</severity></result>' +
      '<result id="c"><host>h</host><nvt oid="1.2.4"><name>too high</name></nvt><severity>12.5</severity></result>' +
      '</get_results_response>';
    expect(readResultRows(parseGmpXml(xml).root)).toEqual([{ nvtOid: '1.2.4', name: 'too high', severity: 10, host: 'h' }]);
  });

  it('words failures without result data', () => {
    expect(reportSummaryFailure(new GmpError('protocol', "get_reports: gvmd answered 404 Failed to find report 'x'", '404'), 'x')).toBe(
      'gvmd has no report x',
    );
    expect(reportSummaryFailure(new GmpError('auth_failed', 'authenticate: gvmd answered 400 Authentication failed', '400'), 'x')).toMatch(
      /refused the monitor account/,
    );
    expect(reportSummaryFailure(new GmpError('socket_missing', 'no gvmd socket at /run/gvmd/gvmd.sock'), 'x')).toBe(
      'GMP socket_missing: no gvmd socket at /run/gvmd/gvmd.sock',
    );
  });
});
