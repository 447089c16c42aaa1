'use client';

import Link from 'next/link';
import { AlertStateSeverityFilters } from '../../../../../components/alert-filters';
import { AlertList } from '../../../../../components/alert-list';
import { Forbidden } from '../../../../../components/ui';
import { alertFilterOf } from '../../../../../lib/alerts';
import { useSession } from '../../../../../lib/session';
import { useUrlState } from '../../../../../lib/use-url-state';
import { useDeviceFrame } from '../device-frame';

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
          <AlertStateSeverityFilters filter={filter} setParams={setParams} />
          <Link href={`/alerts/rules`} style={{ alignSelf: 'center' }}>
            Rules →
          </Link>
        </div>
      }
    />
  );
}
