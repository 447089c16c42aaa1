'use client';

import { ALERT_STATES, type AlertSeverity } from '@xspectre/contracts';
import { DEFAULT_STATE_FILTER, SEVERITIES, type AlertFilter } from '../lib/alerts';
import { Field } from './ui';

export const STATE_LABELS: Record<string, string> = {
  unresolved: 'Unresolved',
  all: 'All',
  open: 'Open',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
};

/**
 * The state and severity filters both alert lists start with (the alerts page, the device's
 * alerts tab); each change goes to the URL through `setParams` (`useUrlState`).
 */
export function AlertStateSeverityFilters({
  filter,
  setParams,
}: {
  filter: AlertFilter;
  setParams: (changes: Record<string, string | null>) => void;
}) {
  return (
    <>
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
    </>
  );
}
