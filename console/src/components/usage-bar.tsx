import styles from './usage-bar.module.css';

/** A horizontal bar of `fraction` (0–1): a pool's use, a running backup's progress. */
export function UsageBar({
  fraction,
  tone = 'info',
  label,
  testId,
}: {
  fraction: number;
  tone?: 'info' | 'ok' | 'warn' | 'bad';
  label: string;
  testId?: string;
}) {
  const percent = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  return (
    <div
      className={`${styles.bar} ${tone === 'info' ? '' : styles[tone]}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      data-testid={testId}
    >
      <div className={styles.fill} style={{ width: `${percent}%` }} />
    </div>
  );
}
