'use client';

import { RemoteSessionPageSchema, REMOTE_SESSION_KINDS } from '@xspectre/contracts';
import Link from 'next/link';
import { DevicePicker } from '../../../components/device-picker';
import { PageHeader } from '../../../components/page-header';
import { Badge, Button, Empty, Field, Forbidden, Loading, Pager, ProblemView, uiStyles } from '../../../components/ui';
import { api } from '../../../lib/api-client';
import { bytes, dateTime } from '../../../lib/format';
import { END_REASON_TEXT, duration, recordingHref } from '../../../lib/remote-access';
import { useSession } from '../../../lib/session';
import { useResource } from '../../../lib/use-api';
import { useNow } from '../../../lib/use-now';
import { useUrlState } from '../../../lib/use-url-state';

const PAGE = 50;

/** Every terminal and file session, newest first, filtered by device and kind in the URL; recordings open in the player. */
export function RemoteSessions() {
  const { can } = useSession();
  const [params, setParams] = useUrlState();
  const now = useNow();
  const deviceId = params.get('deviceId') ?? '';
  const kind = params.get('kind') ?? '';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const allowed = can('audit.view');
  const page = useResource(allowed ? `remote-sessions:${deviceId}:${kind}:${offset}` : null, (signal) =>
    api('remote-sessions', { query: { deviceId, kind, limit: PAGE, offset }, schema: RemoteSessionPageSchema, signal }),
  );

  if (!allowed) return <Forbidden permission="audit.view" what="see remote sessions and their recordings" />;
  return (
    <>
      <PageHeader
        title="Remote sessions"
        subtitle="Terminals and file sessions opened from the console: who, on which device, when, and the sealed recording of every terminal."
      />
      <div style={{ display: 'flex', gap: 12, alignItems: 'flex-end', margin: '16px 0', flexWrap: 'wrap' }}>
        <DevicePicker deviceId={deviceId} onChange={(id) => setParams({ deviceId: id })} testId="session-device-filter" />
        <Field label="Kind">
          <select value={kind} onChange={(e) => setParams({ kind: e.target.value })}>
            <option value="">all</option>
            {REMOTE_SESSION_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </Field>
        {(deviceId || kind) && (
          <Button size="small" onClick={() => setParams({ deviceId: null, kind: null })}>
            Clear filters
          </Button>
        )}
      </div>
      {page.error ? <ProblemView error={page.error} onRetry={page.reload} /> : null}
      {!page.data && !page.error && <Loading label="Loading sessions…" />}
      {page.data && page.data.items.length === 0 && <Empty>No remote sessions{deviceId ? ' on this device' : ''} yet.</Empty>}
      {page.data && page.data.items.length > 0 && (
        <>
          <table className={uiStyles.table} style={{ width: '100%' }} data-testid="sessions-table">
            <thead>
              <tr>
                <th>Kind</th>
                <th>Device</th>
                <th>Operator</th>
                <th>Opened</th>
                <th>Closed</th>
                <th>Duration</th>
                <th>End</th>
                <th>Recording</th>
                <th>SHA-256</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((s) => (
                <tr key={s.id} data-testid="session-row" data-id={s.id}>
                  <td>{s.kind}</td>
                  <td style={{ whiteSpace: 'nowrap' }}>
                    <Link href={`/devices/${s.deviceId}`}>{s.deviceName ?? s.deviceId.slice(0, 8)}</Link>
                  </td>
                  <td>{s.userEmail ?? s.userId.slice(0, 8)}</td>
                  <td>{dateTime(s.openedAt)}</td>
                  <td>{s.closedAt ? dateTime(s.closedAt) : <Badge tone="info">open</Badge>}</td>
                  <td>{duration(s.openedAt, s.closedAt, now)}</td>
                  <td>{s.endReason ? (END_REASON_TEXT[s.endReason] ?? s.endReason) : '—'}</td>
                  <td>{s.recording ? `${bytes(s.recording.bytes)}${s.recording.inputRecorded ? ' (with input)' : ''}` : '—'}</td>
                  <td>
                    <code title={s.recording?.sha256 ?? undefined}>{s.recording?.sha256 ? s.recording.sha256.slice(0, 12) : '—'}</code>
                  </td>
                  <td style={{ whiteSpace: 'nowrap' }}>
                    {s.recording && (
                      <>
                        <Link href={`/sessions/${s.id}`}>Play</Link> ·{' '}
                        <a href={recordingHref(s.id)} download={`session-${s.id}.cast`}>
                          Download
                        </a>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.data.total > PAGE && (
            <Pager total={page.data.total} limit={PAGE} offset={offset} onOffset={(o) => setParams({ offset: String(o) }, false)} />
          )}
        </>
      )}
    </>
  );
}
