'use client';

import {
  COMMAND_OUTPUT_MAX_BYTES,
  COMMAND_STATUSES,
  CommandPageSchema,
  CommandSchema,
  type Command,
  type CommandStatus,
  type Device,
  type LiveCommand,
} from '@xspectre/contracts';
import Link from 'next/link';
import { useState } from 'react';
import { TimeAgo } from '../../../../../components/device-badges';
import { Badge, Button, Card, Empty, Field, KeyValues, Loading, ProblemView, ShowMore, uiStyles } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import {
  actionLabel,
  commandParamsText,
  expiryText,
  isFinalStatus,
  isProblemStatus,
  newerCommand,
  scriptIdsOf,
  statusTone,
} from '../../../../../lib/commands';
import { dateTime } from '../../../../../lib/format';
import { useResource } from '../../../../../lib/use-api';
import { useLive } from '../../../../../lib/use-live';
import { useNames } from '../../../../../lib/use-names';
import { useNow } from '../../../../../lib/use-now';
import { usePagedList } from '../../../../../lib/use-paged-list';
import { useUrlState } from '../../../../../lib/use-url-state';
import { useDeviceFrame } from '../device-frame';
import styles from './device-commands.module.css';

const PAGE = 20;
const OUTPUT_KIB = COMMAND_OUTPUT_MAX_BYTES / 1024;

function StatusBadge({ status }: { status: CommandStatus }) {
  return (
    <Badge tone={statusTone(status)}>
      <span data-testid="command-status">{status}</span>
    </Badge>
  );
}

/** "expires in 3:12" on the shared clock, while the command waits for a device that is not online. */
function Expiry({ command, connectivity }: { command: Pick<Command, 'status' | 'expiresAt'>; connectivity: Device['connectivity'] }) {
  const now = useNow();
  const text = expiryText(command, connectivity, now);
  if (!text) return null;
  return (
    <span className={styles.expiry} data-testid="command-expiry" title={`expires at ${dateTime(command.expiresAt)}`}>
      {text}
    </span>
  );
}

/**
 * The commands tab: the device's commands newest first, a page at a time. Statuses move with the
 * live `command.changed` messages (a command not on screen yet reads the first page again; a
 * reconnect refetches); the selected command (`?command=` in the URL) shows its output once final.
 */
export function DeviceCommands() {
  const { device } = useDeviceFrame();
  const id = device.id;
  const [params, setParams] = useUrlState();
  const selected = params.get('command');
  const status = params.get('status') ?? '';
  // Bumped by a command this list does not hold yet and by a reconnect: the first page is read again.
  const [version, setVersion] = useState(0);
  const [live, setLive] = useState<ReadonlyMap<string, LiveCommand>>(new Map());
  const list = usePagedList(
    `commands:${id}:${status}`,
    version,
    PAGE,
    (page, signal) => api(`devices/${id}/commands`, { query: { ...page, status: status || undefined }, schema: CommandPageSchema, signal }),
    (c) => c.id,
  );

  useLive(
    (message) => {
      if (message.type !== 'command.changed' || message.command.deviceId !== id) return;
      const command = message.command;
      setLive((old) => new Map(old).set(command.id, old.has(command.id) ? newerCommand(old.get(command.id)!, command) : command));
      if (!list.items?.some((c) => c.id === command.id)) setVersion((v) => v + 1);
    },
    () => setVersion((v) => v + 1),
  );

  const scriptNames = useNames('scripts', scriptIdsOf(list.items ?? []));

  const shown = (c: Command): Command => {
    const patch = live.get(c.id);
    return patch ? newerCommand(c, patch) : c;
  };

  return (
    <div className={styles.layout}>
      <Card
        title="Commands"
        actions={
          <Field label="Status">
            <select value={status} onChange={(e) => setParams({ status: e.target.value || null })} aria-label="Filter by status">
              <option value="">All</option>
              {COMMAND_STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </Field>
        }
      >
        {list.items === undefined ? (
          list.error ? (
            <ProblemView error={list.error} onRetry={list.reload} />
          ) : (
            <Loading label="Loading commands…" />
          )
        ) : list.items.length === 0 ? (
          <Empty>{status ? `No ${status} commands.` : 'No commands for this device yet. The Actions menu above queues one.'}</Empty>
        ) : (
          <>
            <table className={uiStyles.table} data-testid="commands">
              <thead>
                <tr>
                  <th>Action</th>
                  <th>Parameters</th>
                  <th>Requested by</th>
                  <th>Status</th>
                  <th>Issued</th>
                  <th>Finished</th>
                </tr>
              </thead>
              <tbody>
                {list.items.map(shown).map((c) => (
                  <tr
                    key={c.id}
                    data-command-id={c.id}
                    className={c.id === selected ? styles.selected : styles.row}
                    aria-selected={c.id === selected}
                    onClick={() => setParams({ command: c.id }, false)}
                  >
                    <td>
                      <button
                        type="button"
                        className={styles.rowButton}
                        aria-pressed={c.id === selected}
                        onClick={(e) => {
                          e.stopPropagation();
                          setParams({ command: c.id }, false);
                        }}
                      >
                        {actionLabel(c.action)}
                      </button>
                      {c.critical && (
                        <>
                          {' '}
                          <Badge tone="warn">critical</Badge>
                        </>
                      )}
                    </td>
                    <td className="mono">{commandParamsText(c, scriptNames) || <span className={uiStyles.faint}>—</span>}</td>
                    <td>{c.requestedBy}</td>
                    <td>
                      <StatusBadge status={c.status} /> <Expiry command={c} connectivity={device.connectivity} />
                    </td>
                    <td className={styles.nowrap}>
                      <TimeAgo iso={c.issuedAt} />
                    </td>
                    <td className={styles.nowrap}>
                      {c.finishedAt ? <TimeAgo iso={c.finishedAt} /> : <span className={uiStyles.faint}>—</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {list.error ? <ProblemView error={list.error} onRetry={list.more} /> : null}
            <ShowMore
              shown={list.items.length}
              total={list.total}
              pageSize={PAGE}
              busy={list.loadingMore}
              onMore={list.more}
              what="commands"
            />
          </>
        )}
      </Card>
      {selected && (
        <CommandDetail
          key={selected}
          commandId={selected}
          live={live.get(selected)}
          resync={version}
          device={device}
          onClose={() => setParams({ command: null }, false)}
        />
      )}
    </div>
  );
}

const PROBLEM_TITLE: Partial<Record<CommandStatus, string>> = {
  rejected: 'Rejected by the device',
  failed: 'Failed',
  interrupted: 'Interrupted',
  expired: 'Expired before the device fetched it',
};

/** One command: its timestamps, the reason it did not succeed, and its output once final (GET commands/:id). */
function CommandDetail({
  commandId,
  live,
  resync,
  device,
  onClose,
}: {
  commandId: string;
  live: LiveCommand | undefined;
  resync: number;
  device: Device;
  onClose: () => void;
}) {
  const connectivity = device.connectivity;
  // Read when selected, again once a live message says it is final (the output comes with that read), and after a reconnect.
  const final = live ? isFinalStatus(live.status) : false;
  const fetched = useResource(`command:${commandId}:${final}:${resync}`, (signal) =>
    api(`commands/${commandId}`, { schema: CommandSchema, signal }),
  );
  const base = fetched.data;
  const c = base && live ? newerCommand(base, live) : base;
  const scriptNames = useNames('scripts', c ? scriptIdsOf([c]) : []);
  const params = c ? commandParamsText(c, scriptNames) : '';
  return (
    <Card
      title={<h2>{c ? `${actionLabel(c.action)}${params ? ` ${params}` : ''}` : 'Command'}</h2>}
      actions={
        <Button size="small" onClick={onClose} aria-label="Close the command">
          Close
        </Button>
      }
      className={styles.detail}
    >
      {fetched.error && !c ? (
        <ProblemView error={fetched.error} onRetry={fetched.reload} />
      ) : !c ? (
        <Loading label="Loading the command…" />
      ) : (
        <div data-testid="command-detail" style={{ display: 'flex', flexDirection: 'column', gap: 14 }}>
          <div style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap' }}>
            <StatusBadge status={c.status} />
            <Expiry command={c} connectivity={connectivity} />
            {c.status === 'queued' &&
              (device.quarantine ? (
                <span className={uiStyles.muted}>held: not delivered while the device is quarantined</span>
              ) : connectivity === 'online' ? (
                <span className={uiStyles.muted}>waiting for the device to fetch it</span>
              ) : null)}
            {c.status === 'running' && <span className={uiStyles.muted}>running on the device</span>}
          </div>
          {isProblemStatus(c.status) && (
            <div className={styles.reason} role="alert" data-testid="command-reason">
              <strong>{PROBLEM_TITLE[c.status]}</strong>
              <div>
                {c.reason ??
                  (c.status === 'expired'
                    ? 'The device did not fetch it before it expired; it will never run.'
                    : c.exitCode !== null
                      ? `exit code ${c.exitCode}`
                      : 'No reason was reported.')}
              </div>
            </div>
          )}
          {c.action === 'script.run' && <ScriptRunDetail params={c.params} scriptNames={scriptNames} />}
          <KeyValues
            rows={[
              ['Requested by', c.requestedBy],
              ['Issued', dateTime(c.issuedAt)],
              ['Expires', dateTime(c.expiresAt)],
              ['Delivered', dateTime(c.deliveredAt)],
              ['Started', dateTime(c.startedAt)],
              ['Finished', dateTime(c.finishedAt)],
              ['Exit code', c.exitCode === null ? '—' : String(c.exitCode)],
              [
                'Signing key',
                <span className="mono" key="k">
                  {c.keyId}
                </span>,
              ],
              [
                'Id',
                <span className="mono" key="i">
                  {c.id}
                </span>,
              ],
            ]}
          />
          {isFinalStatus(c.status) ? (
            c.stdout === null && c.stderr === null ? (
              <p className={uiStyles.muted} style={{ margin: 0 }}>
                No output was reported.
              </p>
            ) : (
              <>
                <Output label="stdout" text={c.stdout} truncated={c.stdoutTruncated} />
                <Output label="stderr" text={c.stderr} truncated={c.stderrTruncated} />
              </>
            )
          ) : (
            <p className={uiStyles.muted} style={{ margin: 0 }}>
              The output is shown when the command finishes.
            </p>
          )}
        </div>
      )}
    </Card>
  );
}

/**
 * What a script run ran: the script (by name, linked to the library), the version signed for the
 * device (its SHA-256), and each argument on its own line, exactly as sent.
 */
function ScriptRunDetail({ params, scriptNames }: { params: Record<string, unknown>; scriptNames: ReadonlyMap<string, string> }) {
  const scriptId = typeof params.scriptId === 'string' ? params.scriptId : '';
  const args = Array.isArray(params.args) ? params.args : [];
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '—');
  return (
    <section data-testid="script-run-detail">
      <KeyValues
        rows={[
          [
            'Script',
            <Link key="s" href={`/admin/scripts?script=${scriptId}`}>
              {scriptNames.get(scriptId) ?? scriptId}
            </Link>,
          ],
          [
            'SHA-256',
            <span className="mono" key="h" style={{ wordBreak: 'break-all' }}>
              {text(params.sha256)}
            </span>,
          ],
          ['Interpreter', text(params.interpreter)],
          ['Timeout', typeof params.timeoutSeconds === 'number' ? `${params.timeoutSeconds} s` : '—'],
          [
            'Arguments',
            args.length === 0 ? (
              <span key="a" className={uiStyles.faint}>
                none
              </span>
            ) : (
              <ol key="a" className={styles.args} data-testid="script-run-args">
                {args.map((arg, i) => (
                  <li key={i} className="mono">
                    {typeof arg === 'string' ? arg : JSON.stringify(arg)}
                  </li>
                ))}
              </ol>
            ),
          ],
        ]}
      />
    </section>
  );
}

/** Device output in a monospace panel, as text (never markup). */
function Output({ label, text, truncated }: { label: string; text: string | null; truncated: boolean }) {
  return (
    <section>
      <h3 className={styles.outputTitle}>
        <span className={styles.outputLabel}>{label}</span>
        {truncated && (
          <Badge tone="warn" title="the device kept the first part and cut the rest">
            truncated at {OUTPUT_KIB} KiB
          </Badge>
        )}
      </h3>
      {text ? (
        <pre className={styles.output} data-testid={`command-${label}`} tabIndex={0}>
          {text}
        </pre>
      ) : (
        <p className={uiStyles.faint} style={{ margin: 0 }}>
          empty
        </p>
      )}
    </section>
  );
}
