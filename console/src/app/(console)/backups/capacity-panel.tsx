'use client';

import { BackupCapacitySchema } from '@xspectre/contracts';
import { TimeAgo } from '../../../components/device-badges';
import { UsageBar } from '../../../components/usage-bar';
import { Badge, Card, Empty, Loading, ProblemView, uiStyles } from '../../../components/ui';
import { api } from '../../../lib/api-client';
import { poolUsage, scrubView, type BackupServer } from '../../../lib/backups-fleet';
import { bytes, dateTime } from '../../../lib/format';
import { useResource } from '../../../lib/use-api';
import styles from './fleet-backups.module.css';

function Server({ server }: { server: BackupServer }) {
  const usage = poolUsage(server.pool);
  const scrub = scrubView(server.lastScrub);
  return (
    <div className={styles.server} data-testid="backup-server" data-server={server.name}>
      <h3>
        <span>{server.name}</span>
        <Badge tone="neutral">{server.store === 'zfs' ? 'ZFS' : 'directory'}</Badge>
      </h3>
      <div className={styles.line}>
        <span className="mono">{server.pool.name}</span>
        <span data-testid="pool-percent">
          {usage.warn && (
            <Badge tone="warn" title="85 % or more of the pool is used">
              nearly full
            </Badge>
          )}{' '}
          {Math.round(usage.fraction * 100)} % used
        </span>
      </div>
      <UsageBar fraction={usage.fraction} tone={usage.warn ? 'warn' : 'ok'} label={`Pool ${server.pool.name} used`} />
      <div className={styles.line}>
        <span>
          {bytes(server.pool.usedBytes)} used of {bytes(server.pool.sizeBytes)}
        </span>
        <span>{bytes(server.pool.freeBytes)} free</span>
      </div>
      <div className={styles.line}>
        <span>
          {server.devices} device{server.devices === 1 ? '' : 's'}, {bytes(server.deviceBytes)}
        </span>
        <Badge tone={scrub.tone}>
          <span data-testid="scrub-state" title={server.lastScrub?.finishedAt ? dateTime(server.lastScrub.finishedAt) : undefined}>
            {scrub.text}
          </span>
        </Badge>
      </div>
      <div className={styles.line}>
        <span className={uiStyles.faint}>
          reported <TimeAgo iso={server.receivedAt} />
        </span>
      </div>
    </div>
  );
}

/** Each backup server's latest capacity report (GET backups/capacity): pool use with a bar, last scrub, devices. */
export function CapacityPanel() {
  const capacity = useResource('backup-capacity', (signal) => api('backups/capacity', { schema: BackupCapacitySchema, signal }));
  return (
    <Card title="Backup servers">
      {capacity.data === undefined ? (
        capacity.error ? (
          <ProblemView error={capacity.error} onRetry={capacity.reload} />
        ) : (
          <Loading label="Loading capacity…" />
        )
      ) : capacity.data.servers.length === 0 ? (
        <Empty>No backup server has reported yet. A backup server reports its pool with its service credential.</Empty>
      ) : (
        <div className={styles.servers} data-testid="backup-servers">
          {capacity.data.servers.map((s) => (
            <Server key={s.credentialId} server={s} />
          ))}
        </div>
      )}
    </Card>
  );
}
