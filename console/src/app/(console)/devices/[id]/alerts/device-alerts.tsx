'use client';

import { ALERT_STATES, type AlertSeverity } from '@xspectre/contracts';
import Link from 'next/link';
import { AlertList } from '../../../../../components/alert-list';
import { Field, Forbidden } from '../../../../../components/ui';
import { DEFAULT_STATE_FILTER, SEVERITIES, alertFilterOf } from '../../../../../lib/alerts';
import { useSession } from '../../../../../lib/session';
import { useUrlState } from '../../../../../lib/use-url-state';
import { useDeviceFrame } from '../device-frame';

const STATE_LABELS: Record<string, string> = {
  unresolved: 'Unresolved',
  all: 'All',
  open: 'Open',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
};

/** The alerts tab: this device's alerts (unresolved by default), with the same actions as the alerts page. */
export function DeviceAlerts() {
  const { device } = useDeviceFrame();
  const { can } = useSession();
  const [params, setParams] = useUrlState();
  const filter = alertFilterOf(params, device.id);
  const offset = Number(params.get('offset') ?? 0) || 0;
  if (!can('alerts.view')) return <Forbidden permission="alerts.view" what="see alerts" />;
  return (
    <AlertList
      filter={filter}
      offset={offset}
      onOffset={(o) => setParams({ offset: o ? String(o) : null })}
      showDevice={false}
      title={<h2>Alerts</h2>}
      emptyText={
        filter.state === 'unresolved' && !filter.severity
          ? 'No unresolved alerts for this device.'
          : 'No alerts of this device match these filters.'
      }
      filters={
        <div style={{ display: 'flex', gap: 10, alignItems: 'end', flexWrap: 'wrap' }}>
          <Field label="State">
            <select
              value={filter.state}
              onChange={(e) => setParams({ state: e.target.value === DEFAULT_STATE_FILTER ? null : e.target.value })}
              aria-label="Filter by state"
            >
              {['unresolved', ...ALERT_STATES, 'all'].map((s) => (
                <option key={s} value={s}>
                  {STATE_LABELS[s]}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Severity">
            <select
              value={filter.severity}
              onChange={(e) => setParams({ severity: (e.target.value as AlertSeverity) || null })}
              aria-label="Filter by severity"
            >
              <option value="">All</option>
              {SEVERITIES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </Field>
          <Link href={`/alerts/rules`} style={{ alignSelf: 'center' }}>
            Rules →
          </Link>
        </div>
      }
    />
  );
}
