'use client';

import type { AlertSeverity } from '@xspectre/contracts';
import Link from 'next/link';
import { useSession } from '../lib/session';
import { useAlertCounts } from '../lib/use-alert-counts';
import styles from './open-alerts.module.css';
import { Card, Loading } from './ui';

/** The navigation's count of unresolved alerts; red when any of them is critical, absent when none. */
export function OpenAlertsBadge() {
  const { can } = useSession();
  const counts = useAlertCounts(can('alerts.view'));
  if (!counts || counts.unresolved === 0) return null;
  const critical = counts.critical > 0;
  return (
    <span
      className={`${styles.badge} ${critical ? styles.badgeCritical : ''}`}
      title={`${counts.unresolved} unresolved (${counts.critical} critical, ${counts.warning} warning, ${counts.info} info; ${counts.unacknowledged} not acknowledged)`}
    >
      <span className="sr-only">unresolved: </span>
      <span data-testid="nav-alerts-count" data-critical={critical ? 'true' : 'false'}>
        {counts.unresolved}
      </span>
    </span>
  );
}

const ROWS: Array<{ severity: AlertSeverity; label: string }> = [
  { severity: 'critical', label: 'Critical' },
  { severity: 'warning', label: 'Warning' },
  { severity: 'info', label: 'Info' },
];

/** The overview's open alerts by severity; each number opens the alert list filtered by it. */
export function OpenAlertsCard() {
  const { can } = useSession();
  const allowed = can('alerts.view');
  const counts = useAlertCounts(allowed);
  if (!allowed) return null;
  return (
    <Card
      title="Open alerts"
      actions={
        <Link href="/alerts" data-testid="overview-alerts-link">
          All unresolved alerts →
        </Link>
      }
    >
      {!counts ? (
        <Loading label="Loading alerts…" />
      ) : (
        <div className={styles.row} data-testid="overview-alerts">
          {ROWS.map((r) => (
            <Link
              key={r.severity}
              href={`/alerts?severity=${r.severity}`}
              className={`${styles.stat} ${counts[r.severity] > 0 ? styles[r.severity] : ''}`}
              data-testid={`alerts-${r.severity}`}
            >
              <span className={styles.value}>{counts[r.severity]}</span>
              <span className={styles.label}>{r.label}</span>
            </Link>
          ))}
          <div className={styles.stat}>
            <span className={styles.value}>{counts.unacknowledged}</span>
            <span className={styles.label}>not acknowledged</span>
          </div>
        </div>
      )}
    </Card>
  );
}
