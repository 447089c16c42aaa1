'use client';

import { AlertPageSchema, canMutateResource, ScannerSnapshotSchema, type ScannerSnapshot } from '@xspectre/contracts';
import { useRef } from 'react';
import { TimeAgo } from '../../../../../components/device-badges';
import { ScannerFeedScheduleCard } from '../../../../../components/scanner-feed-schedule';
import { ContainerStrip, FeedAge, LEVEL_CLASS, LevelPercent, SeverityCounts } from '../../../../../components/scanner-ui';
import {
  dockerDataLevel,
  durationText,
  redisMemoryLevel,
  scanDuration,
  scannerTimeline,
  taskStateLevel,
  taskTone,
} from '../../../../../components/scanner-view';
import { UsageBar } from '../../../../../components/usage-bar';
import { Badge, Card, Empty, KeyValues, Loading, ProblemView, uiStyles } from '../../../../../components/ui';
import { api, isApiError } from '../../../../../lib/api-client';
import { bytes, dateTime } from '../../../../../lib/format';
import { useSession } from '../../../../../lib/session';
import { useResource } from '../../../../../lib/use-api';
import { useCoalesced } from '../../../../../lib/use-coalesced';
import { useLive } from '../../../../../lib/use-live';
import { useNow } from '../../../../../lib/use-now';
import { useDeviceFrame } from '../device-frame';
import styles from './device-scanner.module.css';
import { ReportSummaryCard } from './report-summary';
import { ScannerActionsCard } from './scanner-actions';

/** A report lands after its heartbeat's commit (off the request path): read it a moment later. */
const RELOAD_DELAY_MS = 1500;
const ALERTS_SHOWN = 200;

function redisPercent(stats: ScannerSnapshot['stats']): number | null {
  const redis = stats.coreContainers?.find((c) => c.service === 'redis-server');
  if (!redis?.memoryBytes || !stats.hostMemoryBytes) return null;
  return (redis.memoryBytes / stats.hostMemoryBytes) * 100;
}

function Banners({ snapshot }: { snapshot: ScannerSnapshot }) {
  const { stats } = snapshot;
  return (
    <>
      {stats.defaultAdminPassword === true && (
        <ProblemView
          problem={{
            type: 'about:blank',
            title: 'gvmd still accepts admin / admin',
            status: 0,
            detail:
              'The container default admin password is in place: anyone who reaches the web interface can sign in as administrator. Change it in gvmd (gvmd --user=admin --new-password=…) now.',
            code: 'SCANNER_DEFAULT_ADMIN_PASSWORD',
          }}
        />
      )}
      {stats.account === 'none' && (
        <div className={styles.notice} data-testid="account-none">
          GMP account: none — provision the monitor account (Actions) so the agent can read feeds, scanners and tasks.
        </div>
      )}
      {snapshot.stale && (
        <div className={styles.notice} data-testid="stale-report">
          Stale: this report was collected <TimeAgo iso={snapshot.collectedAt} />, longer ago than two polls. What it says may be out of
          date, and it raises no content alerts.
        </div>
      )}
    </>
  );
}

function Overview({ snapshot }: { snapshot: ScannerSnapshot }) {
  const { stats } = snapshot;
  const docker = stats.dockerData;
  const dockerPercent = docker && docker.totalBytes > 0 ? (docker.usedBytes / docker.totalBytes) * 100 : null;
  const redis = redisPercent(stats);
  const dockerLevel = dockerDataLevel(dockerPercent);
  return (
    <Card title="Greenbone">
      <KeyValues
        rows={[
          [
            'GMP',
            <span key="gmp" data-testid="gmp">
              {stats.gmp.reachable ? <Badge tone="ok">reachable</Badge> : <Badge tone="bad">unreachable</Badge>}{' '}
              {stats.gmp.version && <>GMP {stats.gmp.version} </>}
              {stats.gmp.latencyMs !== null && <span className={uiStyles.faint}>{stats.gmp.latencyMs} ms</span>}
              {stats.gmp.error && (
                <div className={styles.error}>
                  {stats.gmp.error.code}: {stats.gmp.error.message}
                </div>
              )}
            </span>,
          ],
          ['Account', stats.account === 'monitor' ? 'xspectre-monitor (read-only)' : stats.account === 'none' ? 'none' : '—'],
          [
            'Found by',
            stats.discovery
              ? `${stats.discovery.method}${stats.discovery.composeProject ? ` · project ${stats.discovery.composeProject}` : ''}${stats.discovery.gvmd ? ` · ${stats.discovery.gvmd}` : ''}`
              : '—',
          ],
          ['Feed import owner', stats.feedOwnerSet === null ? '—' : stats.feedOwnerSet ? 'set' : 'not set (gvmd imports no configs)'],
          [
            'Objects',
            `${stats.totals.tasks ?? '?'} tasks · ${stats.totals.targets ?? '?'} targets · ${stats.totals.credentials ?? '?'} credentials · ${stats.totals.reports ?? '?'} reports`,
          ],
          [
            'Docker data',
            docker ? (
              <span key="docker" className={styles.usage}>
                <UsageBar
                  fraction={(dockerPercent ?? 0) / 100}
                  tone={dockerLevel === 'critical' ? 'bad' : dockerLevel === 'warning' ? 'warn' : 'ok'}
                  label="Docker data filesystem used"
                  testId="docker-data-bar"
                />
                <LevelPercent value={dockerPercent} level={dockerLevel} testId="docker-data" /> {bytes(docker.usedBytes)} of{' '}
                {bytes(docker.totalBytes)} <code className={uiStyles.faint}>{docker.path}</code>
              </span>
            ) : (
              '—'
            ),
          ],
          [
            'Redis memory',
            <span key="redis">
              <LevelPercent value={redis} level={redisMemoryLevel(redis)} testId="redis-memory" />
              {stats.hostMemoryBytes ? <span className={uiStyles.faint}> of {bytes(stats.hostMemoryBytes)} RAM</span> : null}
            </span>,
          ],
          [
            'Report',
            <span key="report">
              collected <TimeAgo iso={snapshot.collectedAt} /> <span className={uiStyles.faint}>({dateTime(snapshot.collectedAt)})</span>
            </span>,
          ],
        ]}
      />
    </Card>
  );
}

function Feeds({ snapshot }: { snapshot: ScannerSnapshot }) {
  const { feeds } = snapshot.stats;
  return (
    <Card title="Feeds">
      {feeds.length === 0 ? (
        <Empty>{snapshot.stats.gmp.reachable ? 'gvmd reported no feeds.' : 'GMP was not reachable: no feed information.'}</Empty>
      ) : (
        <table className={uiStyles.table} data-testid="scanner-feeds">
          <thead>
            <tr>
              <th>Feed</th>
              <th>Version</th>
              <th>Age</th>
              <th>Syncing</th>
              <th>Sync error</th>
            </tr>
          </thead>
          <tbody>
            {feeds.map((f) => (
              <tr key={f.type} data-feed={f.type}>
                <td>{f.type}</td>
                <td>
                  <code>{f.version ?? '—'}</code>
                </td>
                <td>
                  <FeedAge type={f.type} version={f.version} at={snapshot.feedTimes[f.type] ?? null} showType={false} />
                </td>
                <td>
                  {f.isSyncing ? (
                    <Badge tone="info">
                      syncing{f.syncingSince ? ' since ' : ''}
                      {f.syncingSince && <TimeAgo iso={f.syncingSince} />}
                    </Badge>
                  ) : (
                    <span className={uiStyles.faint}>no</span>
                  )}
                </td>
                <td className={styles.error}>{f.syncError ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function Scanners({ snapshot }: { snapshot: ScannerSnapshot }) {
  const { scanners } = snapshot.stats;
  return (
    <Card title="Scanners">
      {scanners.length === 0 ? (
        <Empty>No scanner reported.</Empty>
      ) : (
        <table className={uiStyles.table} data-testid="scanner-scanners">
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Reachable</th>
              <th>Version</th>
            </tr>
          </thead>
          <tbody>
            {scanners.map((s) => (
              <tr key={s.id}>
                <td>{s.name}</td>
                <td>{s.type ?? '—'}</td>
                <td>
                  {s.reachable === null ? (
                    <span className={uiStyles.faint}>not checked</span>
                  ) : s.reachable ? (
                    <Badge tone="ok">reachable</Badge>
                  ) : (
                    <Badge tone="bad">unreachable</Badge>
                  )}
                </td>
                <td>{s.version ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function Tasks({ snapshot }: { snapshot: ScannerSnapshot }) {
  const now = useNow();
  const { tasks } = snapshot.stats;
  const states = new Map(snapshot.taskStates.map((t) => [t.taskId, t]));
  return (
    <Card title={`Tasks${snapshot.stats.tasksTruncated ? ` (first ${tasks.length} of ${snapshot.stats.totals.tasks ?? 'more'})` : ''}`}>
      {tasks.length === 0 ? (
        <Empty>No task.</Empty>
      ) : (
        <table className={uiStyles.table} data-testid="scanner-tasks">
          <thead>
            <tr>
              <th>Task</th>
              <th>Status</th>
              <th>Progress</th>
              <th>Duration / average</th>
              <th>Next run</th>
              <th>Last report</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => {
              const state = states.get(t.id);
              const duration = scanDuration(t, now);
              return (
                <tr key={t.id} data-task-id={t.id}>
                  <td>{t.name}</td>
                  <td className={styles.nowrap}>
                    <Badge tone={taskTone(t.status)}>
                      <span data-testid="task-status">{t.status}</span>
                    </Badge>
                    {state && state.status === t.status && (
                      <div
                        className={`${styles.since} ${LEVEL_CLASS[taskStateLevel(state, now)]}`}
                        data-testid="task-since"
                        data-level={taskStateLevel(state, now)}
                      >
                        since <TimeAgo iso={state.statusSince} />
                      </div>
                    )}
                  </td>
                  <td>
                    {t.progress !== null ? (
                      <span className={styles.usage}>
                        <UsageBar fraction={t.progress / 100} label={`${t.name} progress`} testId="task-progress" /> {t.progress} %
                        {state && state.progress === t.progress && t.status === 'Running' && (
                          <span className={uiStyles.faint}>
                            {' '}
                            moved <TimeAgo iso={state.progressChangedAt} />
                          </span>
                        )}
                      </span>
                    ) : (
                      <span className={uiStyles.faint}>—</span>
                    )}
                  </td>
                  <td className={styles.nowrap} data-testid="task-duration">
                    {duration ? (
                      <span className={duration.over ? styles.over : undefined}>
                        {durationText(duration.seconds)} / {durationText(duration.average)}
                      </span>
                    ) : (
                      <span className={uiStyles.faint}>avg {durationText(t.averageDurationSeconds)}</span>
                    )}
                  </td>
                  <td className={styles.nowrap}>
                    <TimeAgo iso={t.nextRunAt} never="none" />
                  </td>
                  <td>
                    {t.lastReport ? (
                      <>
                        <SeverityCounts counts={t.lastReport.counts} />
                        <div className={uiStyles.faint}>
                          {t.lastReport.scanEndedAt ? (
                            <>
                              ended <TimeAgo iso={t.lastReport.scanEndedAt} />
                            </>
                          ) : (
                            'not finished'
                          )}
                          {t.lastReport.errorCount ? ` · ${t.lastReport.errorCount} errors` : ''}
                        </div>
                      </>
                    ) : (
                      <span className={uiStyles.faint}>none</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function Containers({ snapshot }: { snapshot: ScannerSnapshot }) {
  const containers = snapshot.stats.coreContainers ?? [];
  return (
    <Card title="Core containers" actions={<ContainerStrip containers={containers} />}>
      {containers.length === 0 ? (
        <Empty>The agent reported no core containers (an older agent, or no Docker Compose install).</Empty>
      ) : (
        <table className={uiStyles.table} data-testid="scanner-containers">
          <thead>
            <tr>
              <th>Service</th>
              <th>State</th>
              <th>Restarts</th>
              <th>Started</th>
              <th>Last OOM kill</th>
              <th>Memory</th>
              <th>Image</th>
            </tr>
          </thead>
          <tbody>
            {containers.map((c) => (
              <tr key={c.service} data-service={c.service}>
                <td>
                  {c.service}
                  {c.container && c.container !== c.service && <div className={uiStyles.faint}>{c.container}</div>}
                </td>
                <td>
                  <Badge tone={c.state === 'running' ? 'ok' : c.state === 'restarting' ? 'warn' : 'bad'}>
                    <span data-testid="container-state">{c.state}</span>
                  </Badge>
                </td>
                <td>{c.restartCount}</td>
                <td>
                  <TimeAgo iso={c.startedAt} never="—" />
                </td>
                <td>{c.lastOomKillAt ? <TimeAgo iso={c.lastOomKillAt} /> : <span className={uiStyles.faint}>none</span>}</td>
                <td>{bytes(c.memoryBytes)}</td>
                <td>
                  <code className={styles.image}>{c.image ?? '—'}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

/**
 * A scanner's Greenbone state from its latest GMP report (`GET devices/:id/scanner`), with the
 * timeline of feed versions and its scanner alerts, the actions for operators who may ask for
 * them, the site's feed update schedule and, with scanner_results.view, a report summary on
 * request. Read again when the device's heartbeats arrive (coalesced) and after a reconnect.
 */
export function DeviceScanner() {
  const { device, org, site } = useDeviceFrame();
  const { can, me } = useSession();
  const id = device.id;
  const snapshot = useResource(`scanner:${id}`, (signal) => api(`devices/${id}/scanner`, { schema: ScannerSnapshotSchema, signal }));
  const alerts = useResource(can('alerts.view') ? `scanner-alerts:${id}` : null, (signal) =>
    api('alerts', { query: { deviceId: id, limit: ALERTS_SHOWN }, schema: AlertPageSchema, signal }),
  );
  const latest = useRef({ snapshot, alerts });
  latest.current = { snapshot, alerts };
  const reloadSnapshot = useCoalesced(() => latest.current.snapshot.reload(), RELOAD_DELAY_MS);
  const reloadAlerts = useCoalesced(() => latest.current.alerts.reload(), RELOAD_DELAY_MS);
  const lastSequence = useRef<number | null>(null);
  // The frame follows this device's telemetry; its heartbeats carry the GMP reports.
  useLive(
    (message) => {
      if (message.type === 'devices.changed') {
        const patch = message.devices.find((p) => p.id === id && p.lastSequence !== undefined);
        if (patch && patch.lastSequence !== lastSequence.current) {
          lastSequence.current = patch.lastSequence ?? null;
          reloadSnapshot();
        }
      } else if (message.type === 'alert.changed' && message.alert.deviceId === id) reloadAlerts();
    },
    () => {
      reloadSnapshot.resync();
      reloadAlerts.resync();
    },
  );

  if (device.type !== 'scanner') return <Empty>This device is not a scanner.</Empty>;
  const ownerMutable = org !== undefined && canMutateResource(me.role, org.kind);
  const mayManage = can('devices.manage') && ownerMutable;
  const mayProvision = can('devices.critical_actions') && me.role === 'super_admin' && ownerMutable;
  const maySummarize = can('scanner_results.view');
  const noReport = isApiError(snapshot.error) && snapshot.error.code === 'SCANNER_REPORT_NOT_FOUND';
  const data = snapshot.data;
  const scannerAlerts = (alerts.data?.items ?? []).filter((a) => a.kind === 'scanner');
  const timeline = data ? scannerTimeline(data.feedVersions, scannerAlerts) : [];
  const reportIds = (data?.stats.tasks ?? []).flatMap((t) => (t.lastReport ? [{ id: t.lastReport.id, task: t.name }] : []));

  return (
    <div className={styles.layout} data-testid="scanner-tab">
      {data ? (
        <Banners snapshot={data} />
      ) : noReport ? (
        <Empty>
          {device.name} has sent no GMP report yet. The agent reports every 10 minutes once it found gvmd; a new agent reports at its first
          poll.
        </Empty>
      ) : snapshot.error ? (
        <ProblemView error={snapshot.error} onRetry={snapshot.reload} />
      ) : (
        <Loading label="Loading the scanner report…" />
      )}
      {(mayManage || mayProvision) && <ScannerActionsCard mayManage={mayManage} mayProvision={mayProvision} />}
      {data && (
        <>
          {data.stale && snapshot.error ? <ProblemView error={snapshot.error} onRetry={snapshot.reload} /> : null}
          <div className={data.stale ? styles.staleBody : undefined}>
            <div className={styles.layout}>
              <Overview snapshot={data} />
              <Feeds snapshot={data} />
              <Scanners snapshot={data} />
              <Tasks snapshot={data} />
              <Containers snapshot={data} />
            </div>
          </div>
          <Card title="Timeline">
            {alerts.error ? <ProblemView error={alerts.error} onRetry={alerts.reload} /> : null}
            {timeline.length === 0 ? (
              <Empty>No feed version or scanner alert recorded yet.</Empty>
            ) : (
              <ol className={styles.timeline} data-testid="scanner-timeline">
                {timeline.map((e) => (
                  <li key={e.key} data-kind={e.kind}>
                    <span className={styles.when} title={dateTime(e.at)}>
                      <TimeAgo iso={e.at} />
                    </span>
                    {e.kind === 'feed' ? (
                      <Badge tone="info">feed</Badge>
                    ) : (
                      <Badge
                        tone={
                          e.kind === 'alert-resolved'
                            ? 'ok'
                            : e.severity === 'critical'
                              ? 'bad'
                              : e.severity === 'warning'
                                ? 'warn'
                                : 'info'
                        }
                      >
                        {e.kind === 'alert-resolved' ? 'resolved' : e.severity}
                      </Badge>
                    )}
                    <span>{e.text}</span>
                  </li>
                ))}
              </ol>
            )}
          </Card>
        </>
      )}
      {/* Everyone who sees the device sees its site's schedule; devices.manage edits it. */}
      {site && <ScannerFeedScheduleCard siteId={site.id} siteName={site.name} canEdit={mayManage} />}
      {maySummarize && <ReportSummaryCard deviceId={id} reportIds={reportIds} />}
    </div>
  );
}
