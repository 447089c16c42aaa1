'use client';

import { percent } from '../lib/format';
import { useNow } from '../lib/use-now';
import { ageText, containerLevel, feedAgeHours, feedAgeLevel, type Level } from './scanner-view';
import styles from './scanner-ui.module.css';

/** The class of a level: tests read these names (`levelCritical`…), the colours come from the theme. */
export const LEVEL_CLASS: Record<Level, string> = {
  ok: styles.levelOk!,
  warning: styles.levelWarning!,
  critical: styles.levelCritical!,
  unknown: styles.levelUnknown!,
};

export const scannerStyles = styles;

/** A feed's age coloured by its type's thresholds ("NVT 10 d"), with the version and time in the tooltip. */
export function FeedAge({
  type,
  version,
  at,
  showType = true,
}: {
  type: string;
  version: string | null;
  at: string | null;
  showType?: boolean;
}) {
  const now = useNow();
  const level = feedAgeLevel(type, at, now);
  const hours = feedAgeHours(at, now);
  return (
    <span
      className={`${styles.age} ${LEVEL_CLASS[level]}`}
      data-testid="feed-age"
      data-feed={type}
      data-level={level}
      title={`${type} feed ${version ?? '(no version)'}${at ? `, from ${at}` : ''}`}
    >
      {showType && <small>{type}</small>}
      {hours === null ? (version ? 'age unknown' : 'no version') : ageText(hours)}
    </span>
  );
}

/** One dot per core container, coloured by its state; the service and state in each dot's tooltip. */
export function ContainerStrip({ containers }: { containers: ReadonlyArray<{ service: string; state: string }> }) {
  if (containers.length === 0) return <span className="muted">—</span>;
  return (
    <span className={styles.strip} data-testid="container-strip">
      {containers.map((c) => {
        const level = c.state === 'missing' ? 'critical' : containerLevel(c.state);
        return (
          <span
            key={c.service}
            className={`${styles.dot} ${LEVEL_CLASS[level]}`}
            title={`${c.service}: ${c.state}`}
            aria-label={`${c.service}: ${c.state}`}
            role="img"
            data-service={c.service}
            data-state={c.state}
          />
        );
      })}
    </span>
  );
}

/** "C 0 · H 2 · M 5 · L 1", zero counts faint; `critical` is left out when gvmd has no such class (null). */
export function SeverityCounts({
  counts,
}: {
  counts: { critical: number | null; high: number; medium: number; low: number } | null | undefined;
}) {
  if (!counts) return <span className="muted">—</span>;
  const parts: Array<[string, string, number]> = [];
  if (counts.critical !== null) parts.push(['C', styles.sevCritical!, counts.critical]);
  parts.push(['H', styles.sevHigh!, counts.high], ['M', styles.sevMedium!, counts.medium], ['L', styles.sevLow!, counts.low]);
  return (
    <span className={styles.severity} data-testid="severity-counts">
      {parts.map(([label, cls, n]) => (
        <span
          key={label}
          className={n > 0 ? cls : styles.sevZero}
          title={`${n} ${label === 'C' ? 'critical' : label === 'H' ? 'high' : label === 'M' ? 'medium' : 'low'}`}
        >
          {label} {n}
        </span>
      ))}
    </span>
  );
}

/** A percentage coloured by a level ("83 %" amber). */
export function LevelPercent({ value, level, testId }: { value: number | null | undefined; level: Level; testId?: string }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  return (
    <span className={`${styles.percent} ${LEVEL_CLASS[level]}`} data-testid={testId} data-level={level}>
      {percent(value)}
    </span>
  );
}
