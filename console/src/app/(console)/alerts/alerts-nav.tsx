'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import styles from '../../../components/tabs.module.css';

const TABS = [
  { href: '/alerts', label: 'Alerts' },
  { href: '/alerts/rules', label: 'Rules' },
  { href: '/alerts/silences', label: 'Silences' },
];

/** The alert pages' tabs: the alerts themselves, the rules that open them, the silences that keep them from being delivered. */
export function AlertsNav() {
  const pathname = usePathname();
  return (
    <nav className={styles.tabs} aria-label="Alert sections" data-testid="alerts-tabs">
      {TABS.map((t) => (
        <Link
          key={t.href}
          href={t.href}
          className={`${styles.tab} ${pathname === t.href ? styles.active : ''}`}
          aria-current={pathname === t.href ? 'page' : undefined}
        >
          {t.label}
        </Link>
      ))}
    </nav>
  );
}
