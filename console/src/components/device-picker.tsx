'use client';

import { DevicePageSchema } from '@xspectre/contracts';
import { useEffect, useId, useState } from 'react';
import { api } from '../lib/api-client';
import { useResource } from '../lib/use-api';
import { rememberName, useNames } from '../lib/use-names';
import styles from './device-picker.module.css';
import { Button, Field, uiStyles } from './ui';

/**
 * Chooses one device by name (`GET devices?q=`, a few matches offered): the chosen device shows
 * as a chip with a clear button. Used by the alert and fleet command filters and by rule and silence scopes.
 */
export function DevicePicker({
  label = 'Device',
  deviceId,
  onChange,
  error,
  clearLabel = 'Show every device',
  testId = 'device-picked',
}: {
  label?: string;
  deviceId: string;
  onChange: (id: string | null) => void;
  error?: string;
  clearLabel?: string;
  /** The chosen device's chip's `data-testid` (the fleet commands view keeps `device-filter`). */
  testId?: string;
}) {
  const [text, setText] = useState('');
  const [query, setQuery] = useState('');
  const listId = useId();
  const names = useNames('devices', deviceId ? [deviceId] : []);
  useEffect(() => {
    const t = setTimeout(() => setQuery(text.trim()), 250);
    return () => clearTimeout(t);
  }, [text]);
  const matches = useResource(query ? `device-search:${query}` : null, (signal) =>
    api('devices', { query: { q: query, limit: 8 }, schema: DevicePageSchema, signal }),
  );

  if (deviceId) {
    return (
      <Field label={label} error={error}>
        <span className={styles.chip} data-testid={testId}>
          <strong>{names.get(deviceId) ?? deviceId.slice(0, 8)}</strong>
          <Button size="small" onClick={() => onChange(null)} aria-label={clearLabel}>
            ×
          </Button>
        </span>
      </Field>
    );
  }
  const shown = query && matches.data ? matches.data.items : [];
  return (
    <div className={styles.picker}>
      <Field label={label} error={error}>
        <input
          type="search"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="Search by name…"
          aria-label={label === 'Device' ? 'Filter by device' : label}
          aria-controls={shown.length ? listId : undefined}
          autoComplete="off"
          onKeyDown={(e) => {
            if (e.key === 'Escape') setText('');
          }}
        />
      </Field>
      {text.trim() && query && matches.data && (
        <ul className={styles.matches} id={listId} aria-label="Matching devices">
          {shown.length === 0 ? (
            <li className={uiStyles.muted} style={{ padding: '5px 8px' }}>
              No device matches.
            </li>
          ) : (
            shown.map((d) => (
              <li key={d.id}>
                <button
                  type="button"
                  onClick={() => {
                    setText('');
                    rememberName('devices', d.id, d.name);
                    onChange(d.id);
                  }}
                >
                  {d.name} <span className={uiStyles.faint}>{d.hostname ?? ''}</span>
                </button>
              </li>
            ))
          )}
        </ul>
      )}
    </div>
  );
}
