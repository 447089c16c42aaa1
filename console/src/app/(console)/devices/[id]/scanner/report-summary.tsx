'use client';

import {
  FINAL_COMMAND_STATUSES,
  GmpReportIdSchema,
  ScannerReportSummaryViewSchema,
  type CommandStatus,
  type ScannerReportSummaryView,
} from '@xspectre/contracts';
import { useEffect, useId, useState } from 'react';
import { SeverityCounts } from '../../../../../components/scanner-ui';
import { useCritical } from '../../../../../components/step-up';
import { Badge, Button, Card, Field, ProblemView, uiStyles } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import { statusTone } from '../../../../../lib/commands';
import { dateTime } from '../../../../../lib/format';
import { useLive } from '../../../../../lib/use-live';
import styles from './device-scanner.module.css';

/** While the summary's command is under way it is read again this often (and at once when its status changes live). */
const PENDING_REFRESH_MS = 5_000;

/**
 * "Request report summary" (scanner_results.view, step-up): one report's counts and top findings,
 * fetched from the scanner by a signed command; results otherwise never leave the site. The API
 * keeps the summary 24 hours. Report ids of the tasks' last reports are offered.
 */
export function ReportSummaryCard({ deviceId, reportIds }: { deviceId: string; reportIds: ReadonlyArray<{ id: string; task: string }> }) {
  const critical = useCritical();
  const listId = useId();
  const [reportId, setReportId] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [view, setView] = useState<ScannerReportSummaryView | null>(null);
  const pending = view !== null && !FINAL_COMMAND_STATUSES.includes(view.status as CommandStatus);
  const commandId = view?.commandId;

  // Reads the summary's state; a stable function of deviceId, so the interval below need not restart.
  async function read(id: string) {
    try {
      setView(await api(`devices/${deviceId}/scanner/report-summaries/${id}`, { schema: ScannerReportSummaryViewSchema }));
    } catch (e) {
      setError(e);
    }
  }

  useEffect(() => {
    if (!pending || !commandId) return;
    const timer = setInterval(() => void read(commandId), PENDING_REFRESH_MS);
    return () => clearInterval(timer);
  }, [pending, commandId]);

  useLive(
    (message) => {
      if (message.type === 'command.changed' && commandId && message.command.id === commandId) void read(commandId);
    },
    () => {
      if (commandId) void read(commandId);
    },
  );

  async function request() {
    const parsed = GmpReportIdSchema.safeParse(reportId.trim());
    if (!parsed.success) {
      setInvalid(parsed.error.issues[0]?.message ?? 'a report id (UUID)');
      return;
    }
    setInvalid(null);
    setBusy(true);
    setError(null);
    try {
      const queued = await critical(() =>
        api(`devices/${deviceId}/scanner/report-summaries`, {
          method: 'POST',
          body: { reportId: parsed.data },
          schema: ScannerReportSummaryViewSchema,
        }),
      );
      setView(queued);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Report summary">
      <div className={styles.summary} data-testid="report-summary">
        <p className={uiStyles.muted} style={{ margin: 0 }}>
          Scan results stay on the scanner. A summary of one report (counts and the top findings by severity, without hosts or ports) is
          fetched only on request, recorded in the audit log, and kept for 24 hours.
        </p>
        <form
          className={styles.inline}
          onSubmit={(e) => {
            e.preventDefault();
            void request();
          }}
        >
          <Field label="Report id" error={invalid}>
            <input
              value={reportId}
              onChange={(e) => setReportId(e.target.value)}
              list={reportIds.length ? listId : undefined}
              className="mono"
              spellCheck={false}
              autoComplete="off"
              size={40}
              placeholder="the report's UUID as gvmd shows it"
            />
          </Field>
          {reportIds.length > 0 && (
            <datalist id={listId}>
              {reportIds.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.task}
                </option>
              ))}
            </datalist>
          )}
          <Button type="submit" disabled={busy || pending}>
            {busy ? 'Requesting…' : 'Request report summary'}
          </Button>
        </form>
        {error ? <ProblemView error={error} /> : null}
        {view && (
          <div data-testid="report-summary-view">
            <div>
              Report <code>{view.reportId}</code>: <Badge tone={statusTone(view.status as CommandStatus)}>{view.status}</Badge>
              {view.expiresAt && <span className={uiStyles.faint}> · kept until {dateTime(view.expiresAt)}</span>}
            </div>
            {view.error && (
              <ProblemView
                problem={{ type: 'about:blank', title: 'No summary', status: 0, detail: view.error, code: 'SCANNER_REPORT_SUMMARY_FAILED' }}
              />
            )}
            {view.summary && (
              <>
                <p style={{ margin: '8px 0' }}>
                  {view.summary.taskName ?? 'Task unknown'} · {dateTime(view.summary.scanStartedAt)} → {dateTime(view.summary.scanEndedAt)}{' '}
                  · {view.summary.hostCount ?? '?'} hosts · <SeverityCounts counts={view.summary.counts} />
                </p>
                {view.summary.topFindings.length === 0 ? (
                  <p className={uiStyles.muted}>No findings.</p>
                ) : (
                  <table className={uiStyles.table}>
                    <thead>
                      <tr>
                        <th>Severity</th>
                        <th>Finding</th>
                        <th>NVT</th>
                        <th>Hosts</th>
                      </tr>
                    </thead>
                    <tbody>
                      {view.summary.topFindings.map((f) => (
                        <tr key={f.nvtOid}>
                          <td>
                            <Badge tone={f.severity >= 7 ? 'bad' : f.severity >= 4 ? 'warn' : 'info'}>{f.severity.toFixed(1)}</Badge>
                          </td>
                          <td>{f.name}</td>
                          <td>
                            <code className={uiStyles.faint}>{f.nvtOid}</code>
                          </td>
                          <td>{f.hosts}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
                <p className={uiStyles.faint}>This summary is kept for 24 hours, then the API forgets it.</p>
              </>
            )}
          </div>
        )}
      </div>
    </Card>
  );
}
