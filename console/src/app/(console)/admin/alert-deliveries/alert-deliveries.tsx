'use client';

import { AlertDeliveryPageSchema, AlertDeliverySchema, type AlertDelivery } from '@xspectre/contracts';
import Link from 'next/link';
import { useState } from 'react';
import { TimeAgo } from '../../../../components/device-badges';
import { PageHeader } from '../../../../components/page-header';
import { useCritical } from '../../../../components/step-up';
import { Badge, Button, Card, Empty, Forbidden, Loading, Pager, ProblemView, uiStyles } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { useSession } from '../../../../lib/session';
import { useResource } from '../../../../lib/use-api';
import { useUrlState } from '../../../../lib/use-url-state';

const PAGE_SIZE = 50;

/**
 * The dead letters: deliveries that failed their last attempt (`GET alert-deliveries?state=dead`),
 * with the last error. "Retry" queues one again (it is sent in its alert's order, after the
 * messages before it); the row then shows it as pending until the list is read again.
 */
export function AlertDeliveries() {
  const { can } = useSession();
  const allowed = can('settings.manage');
  const critical = useCritical();
  const [params, setParams] = useUrlState();
  const offset = Number(params.get('offset') ?? 0) || 0;
  const [version, setVersion] = useState(0);
  const [retried, setRetried] = useState<ReadonlyMap<string, AlertDelivery>>(new Map());
  const [errors, setErrors] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const list = useResource(allowed ? `dead-letters:${offset}:${version}` : null, (signal) =>
    api('alert-deliveries', { query: { state: 'dead', limit: PAGE_SIZE, offset }, schema: AlertDeliveryPageSchema, signal }),
  );

  if (!allowed) {
    return (
      <>
        <PageHeader title="Dead letters" />
        <Forbidden permission="settings.manage" what="see failed alert deliveries" />
      </>
    );
  }

  async function retry(d: AlertDelivery) {
    setBusy(d.id);
    setErrors((e) => ({ ...e, [d.id]: undefined }));
    try {
      const updated = await critical(() => api(`alert-deliveries/${d.id}/retry`, { method: 'POST', schema: AlertDeliverySchema }));
      setRetried((m) => new Map(m).set(d.id, updated));
    } catch (e) {
      setErrors((old) => ({ ...old, [d.id]: e }));
    } finally {
      setBusy(null);
    }
  }

  return (
    <>
      <PageHeader
        title="Dead letters"
        subtitle={
          <>
            Alert deliveries that failed every attempt. Fix the cause (see the <Link href="/admin/alert-targets">targets</Link>), then
            retry.
          </>
        }
        actions={<Button onClick={() => (setRetried(new Map()), setVersion((v) => v + 1))}>Refresh</Button>}
      />
      <Card title="Failed deliveries">
        {list.data === undefined ? (
          list.error ? (
            <ProblemView error={list.error} onRetry={list.reload} />
          ) : (
            <Loading label="Loading deliveries…" />
          )
        ) : list.data.items.length === 0 ? (
          <Empty>No dead letters: every delivery went through or is still being tried.</Empty>
        ) : (
          <>
            <table className={uiStyles.table} data-testid="dead-letters">
              <thead>
                <tr>
                  <th>Alert</th>
                  <th>Target</th>
                  <th>Message</th>
                  <th>Attempts</th>
                  <th>Last error</th>
                  <th>Queued</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((row) => {
                  const d = retried.get(row.id) ?? row;
                  return (
                    <tr key={d.id} data-delivery-id={d.id}>
                      <td>
                        <Link href={`/alerts?state=all#${d.alertId}`}>{d.alertTitle}</Link>
                      </td>
                      <td>{d.targetName}</td>
                      <td className={uiStyles.muted}>
                        {d.kind} #{d.sequence}
                      </td>
                      <td>{d.attempts}</td>
                      <td className="mono" style={{ fontSize: 12, overflowWrap: 'anywhere', maxWidth: 420 }} data-testid="delivery-error">
                        {d.lastError ?? '—'}
                      </td>
                      <td style={{ whiteSpace: 'nowrap' }}>
                        <TimeAgo iso={d.createdAt} />
                      </td>
                      <td style={{ textAlign: 'right', whiteSpace: 'nowrap' }}>
                        {d.state === 'dead' ? (
                          <Button size="small" onClick={() => void retry(d)} disabled={busy !== null}>
                            {busy === d.id ? 'Queueing…' : 'Retry'}
                          </Button>
                        ) : (
                          <Badge tone={d.state === 'done' ? 'ok' : 'info'}>
                            <span data-testid="delivery-state">{d.state === 'pending' ? 'queued again' : d.state}</span>
                          </Badge>
                        )}
                        {errors[d.id] ? <ProblemView error={errors[d.id]} /> : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {list.data.total > PAGE_SIZE && (
              <Pager total={list.data.total} limit={PAGE_SIZE} offset={offset} onOffset={(o) => setParams({ offset: String(o) })} />
            )}
          </>
        )}
      </Card>
    </>
  );
}
