'use client';

import {
  COMMAND_ACTIONS,
  COMMAND_STATUSES,
  CommandPageSchema,
  type Command,
  type CommandStatus,
  type LiveCommand,
} from '@xspectre/contracts';
import Link from 'next/link';
import { useState } from 'react';
import { TimeAgo } from '../../../components/device-badges';
import { DevicePicker } from '../../../components/device-picker';
import { PageHeader } from '../../../components/page-header';
import { Badge, Button, Card, Empty, Field, Loading, ProblemView, ShowMore, uiStyles } from '../../../components/ui';
import { api } from '../../../lib/api-client';
import {
  actionLabel,
  commandParamsText,
  matchesCommandFilter,
  newerCommand,
  scriptIdsOf,
  statusTone,
  type CommandFilter,
} from '../../../lib/commands';
import { useCoalesced } from '../../../lib/use-coalesced';
import { useLive } from '../../../lib/use-live';
import { useNames } from '../../../lib/use-names';
import { usePagedList } from '../../../lib/use-paged-list';
import { useUrlState } from '../../../lib/use-url-state';
import styles from './fleet-commands.module.css';

const PAGE = 50;
/** A burst of new commands (a bulk action on hundreds of devices) reads the first page once. */
const REFETCH_DELAY_MS = 500;

function StatusBadge({ status }: { status: CommandStatus }) {
  return (
    <Badge tone={statusTone(status)}>
      <span data-testid="command-status">{status}</span>
    </Badge>
  );
}

/**
 * Every device's commands, newest first (`GET commands`), filtered by status, action and device in
 * the URL. Statuses move with `command.changed`; a new command that fits the filters reads the
 * first page again (coalesced), a reconnect refetches. A row leads to its device's commands tab
 * with the command selected (output, reason).
 */
export function FleetCommands() {
  const [params, setParams] = useUrlState();
  const filter: CommandFilter = {
    status: params.get('status') ?? '',
    action: params.get('action') ?? '',
    deviceId: params.get('deviceId') ?? '',
  };
  const [version, setVersion] = useState(0);
  const [live, setLive] = useState<ReadonlyMap<string, LiveCommand>>(new Map());
  const list = usePagedList(
    `fleet-commands:${filter.status}:${filter.action}:${filter.deviceId}`,
    version,
    PAGE,
    (page, signal) =>
      api('commands', {
        query: { ...page, status: filter.status || undefined, action: filter.action || undefined, deviceId: filter.deviceId || undefined },
        schema: CommandPageSchema,
        signal,
      }),
    (c) => c.id,
  );
  const refetch = useCoalesced(() => setVersion((v) => v + 1), REFETCH_DELAY_MS);

  useLive(
    (message) => {
      if (message.type !== 'command.changed') return;
      const command = message.command;
      setLive((old) => new Map(old).set(command.id, old.has(command.id) ? newerCommand(old.get(command.id)!, command) : command));
      if (!list.items?.some((c) => c.id === command.id) && matchesCommandFilter(command, filter)) refetch();
    },
    () => setVersion((v) => v + 1),
  );

  const items = (list.items ?? []).map((c): Command => {
    const patch = live.get(c.id);
    return patch ? newerCommand(c, patch) : c;
  });
  const deviceNames = useNames('devices', [...new Set(items.map((c) => c.deviceId))]);
  const scriptNames = useNames('scripts', scriptIdsOf(items));
  const filtered = Boolean(filter.status || filter.action || filter.deviceId);

  return (
    <>
      <PageHeader
        title="Commands"
        subtitle="Remote actions on every device, newest first. Open one to see its output or why it did not run."
      />
      <Card
        title="All commands"
        actions={
          <div className={styles.filters}>
            <Field label="Status">
              <select value={filter.status} onChange={(e) => setParams({ status: e.target.value || null })} aria-label="Filter by status">
                <option value="">All</option>
                {COMMAND_STATUSES.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </Field>
            <Field label="Action">
              <select value={filter.action} onChange={(e) => setParams({ action: e.target.value || null })} aria-label="Filter by action">
                <option value="">All</option>
                {COMMAND_ACTIONS.map((a) => (
                  <option key={a} value={a}>
                    {actionLabel(a)}
                  </option>
                ))}
              </select>
            </Field>
            <DevicePicker deviceId={filter.deviceId ?? ''} onChange={(id) => setParams({ deviceId: id })} testId="device-filter" />
            {filtered && (
              <Button size="small" onClick={() => setParams({ status: null, action: null, deviceId: null })}>
                Clear filters
              </Button>
            )}
          </div>
        }
      >
        {list.items === undefined ? (
          list.error ? (
            <ProblemView error={list.error} onRetry={list.reload} />
          ) : (
            <Loading label="Loading commands…" />
          )
        ) : items.length === 0 ? (
          <Empty>{filtered ? 'No commands match these filters.' : 'No commands yet. A device’s Actions menu queues one.'}</Empty>
        ) : (
          <>
            <table className={uiStyles.table} data-testid="fleet-commands">
              <thead>
                <tr>
                  <th>Device</th>
                  <th>Action</th>
                  <th>Parameters</th>
                  <th>Requested by</th>
                  <th>Status</th>
                  <th>Issued</th>
                  <th>Finished</th>
                </tr>
              </thead>
              <tbody>
                {items.map((c) => {
                  const params = commandParamsText(c, scriptNames);
                  return (
                    <tr key={c.id} data-command-id={c.id}>
                      <td className={styles.nowrap}>
                        <Link href={`/devices/${c.deviceId}`}>{deviceNames.get(c.deviceId) ?? c.deviceId.slice(0, 8)}</Link>
                      </td>
                      <td>
                        <Link href={`/devices/${c.deviceId}/commands?command=${c.id}`} data-testid="command-link">
                          {actionLabel(c.action)}
                        </Link>
                        {c.critical && (
                          <>
                            {' '}
                            <Badge tone="warn">critical</Badge>
                          </>
                        )}
                      </td>
                      <td className={`mono ${styles.params}`} title={params}>
                        {params || <span className={uiStyles.faint}>—</span>}
                      </td>
                      <td>{c.requestedBy}</td>
                      <td>
                        <StatusBadge status={c.status} />
                      </td>
                      <td className={styles.nowrap}>
                        <TimeAgo iso={c.issuedAt} />
                      </td>
                      <td className={styles.nowrap}>
                        {c.finishedAt ? <TimeAgo iso={c.finishedAt} /> : <span className={uiStyles.faint}>—</span>}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {list.error ? <ProblemView error={list.error} onRetry={list.more} /> : null}
            <ShowMore shown={items.length} total={list.total} pageSize={PAGE} busy={list.loadingMore} onMore={list.more} what="commands" />
          </>
        )}
      </Card>
    </>
  );
}
