'use client';

import { STATE_LABELS, AlertStateSeverityFilters } from '../../../components/alert-filters';
import { AlertList } from '../../../components/alert-list';
import { DevicePicker } from '../../../components/device-picker';
import { PageHeader } from '../../../components/page-header';
import { Button, Field, Forbidden } from '../../../components/ui';
import { DEFAULT_STATE_FILTER, alertFilterOf } from '../../../lib/alerts';
import { useOrganizationsAndSites } from '../../../lib/reference-data';
import { useSession } from '../../../lib/session';
import { useUrlState } from '../../../lib/use-url-state';
import styles from './alerts.module.css';
import { AlertsNav } from './alerts-nav';

/**
 * Every alert the engine opened, newest first: unresolved by default; severity, state,
 * organization, site and device filters and the page live in the URL.
 */
export function AlertsPage() {
  const { can } = useSession();
  const [params, setParams] = useUrlState();
  const refs = useOrganizationsAndSites();
  const filter = alertFilterOf(params);
  const offset = Number(params.get('offset') ?? 0) || 0;
  if (!can('alerts.view')) {
    return (
      <>
        <PageHeader title="Alerts" />
        <Forbidden permission="alerts.view" what="see alerts" />
      </>
    );
  }
  const sites = (refs.data?.sites ?? []).filter((s) => !filter.organizationId || s.organizationId === filter.organizationId);
  const filtered = Boolean(
    filter.severity || filter.organizationId || filter.siteId || filter.deviceId || filter.state !== DEFAULT_STATE_FILTER,
  );

  return (
    <>
      <PageHeader
        title="Alerts"
        subtitle="What the rules found on devices and in the fleet, newest first. Acknowledge what you are on, resolve with a note, silence a maintenance window."
      />
      <AlertsNav />
      <AlertList
        filter={filter}
        offset={offset}
        onOffset={(o) => setParams({ offset: o ? String(o) : null })}
        title={filter.state === 'unresolved' ? 'Unresolved alerts' : `${STATE_LABELS[filter.state]} alerts`}
        emptyText={filtered ? 'No alerts match these filters.' : 'No unresolved alerts. All quiet.'}
        filters={
          <div className={styles.filters}>
            <AlertStateSeverityFilters filter={filter} setParams={setParams} />
            <Field label="Organization">
              <select
                value={filter.organizationId}
                onChange={(e) => setParams({ organizationId: e.target.value || null, siteId: null })}
                aria-label="Filter by organization"
              >
                <option value="">All</option>
                {(refs.data?.organizations ?? []).map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Site">
              <select value={filter.siteId} onChange={(e) => setParams({ siteId: e.target.value || null })} aria-label="Filter by site">
                <option value="">All</option>
                {sites.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            </Field>
            <DevicePicker deviceId={filter.deviceId} onChange={(id) => setParams({ deviceId: id })} />
            {filtered && (
              <Button
                size="small"
                onClick={() => setParams({ state: null, severity: null, organizationId: null, siteId: null, deviceId: null })}
              >
                Clear filters
              </Button>
            )}
          </div>
        }
      />
    </>
  );
}
