'use client';

import { MeResponseSchema, ROLE_LABELS, type Permission } from '@xspectre/contracts';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, onSessionEnded } from '../lib/api-client';
import { liveClient } from '../lib/live-client';
import { signInUrl } from '../lib/safe-next';
import { SessionContext, sessionOf } from '../lib/session';
import { useResource } from '../lib/use-api';
import { useLiveStatus } from '../lib/use-live';
import { OpenAlertsBadge } from './open-alerts';
import { Logo } from './logo';
import styles from './shell.module.css';
import { StepUpProvider } from './step-up';
import { Button, Loading, ProblemView } from './ui';

const NAV: Array<{ group?: string; href: string; label: string; permission?: Permission }> = [
  { href: '/', label: 'Overview' },
  { href: '/alerts', label: 'Alerts', permission: 'alerts.view' },
  { href: '/devices', label: 'Devices' },
  { href: '/commands', label: 'Commands' },
  { href: '/sessions', label: 'Remote sessions', permission: 'audit.view' },
  { href: '/backups', label: 'Backups', permission: 'backups.view' },
  { href: '/scanners', label: 'Scanner Ops', permission: 'devices.view' },
  { href: '/enroll', label: 'Enrollment', permission: 'devices.manage' },
  { group: 'Administration', href: '/admin/organizations', label: 'Organizations & sites' },
  { href: '/admin/users', label: 'Users & roles', permission: 'users.manage' },
  { href: '/admin/identity-providers', label: 'Identity providers', permission: 'identity_providers.manage' },
  { href: '/admin/scripts', label: 'Script library', permission: 'devices.view' },
  { href: '/admin/alert-targets', label: 'Alert delivery', permission: 'settings.manage' },
  { href: '/admin/alert-deliveries', label: 'Dead letters', permission: 'settings.manage' },
  { href: '/admin/audit', label: 'Audit log', permission: 'audit.view' },
  { group: 'Account', href: '/account/security', label: 'Sign-in security' },
];

function isActive(pathname: string, href: string): boolean {
  return href === '/' ? pathname === '/' : pathname === href || pathname.startsWith(href + '/');
}

function LiveIndicator() {
  const status = useLiveStatus();
  const label =
    status === 'live' ? 'Live' : status === 'stopped' ? 'Not connected' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span className={styles.live} role="status" aria-live="polite" data-testid="live-status" data-status={status}>
      <span className={`${styles.dot} ${status === 'live' ? styles.dotLive : styles.dotWait}`} aria-hidden="true" />
      {label}
    </span>
  );
}

function ThemeToggle() {
  const [theme, setTheme] = useState<'dark' | 'light'>('dark');
  useEffect(() => setTheme(document.documentElement.dataset.theme === 'light' ? 'light' : 'dark'), []);
  const next = theme === 'dark' ? 'light' : 'dark';
  return (
    <Button
      size="small"
      aria-label={`Switch to the ${next} theme`}
      onClick={() => {
        document.documentElement.dataset.theme = next;
        document.cookie = `xs_theme=${next}; path=/; max-age=31536000; SameSite=Strict`;
        setTheme(next);
      }}
    >
      {theme === 'dark' ? '☀ Light' : '☾ Dark'}
    </Button>
  );
}

export function ConsoleShell({ children }: { children: ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const search = useSearchParams();
  const here = pathname + (search.size ? `?${search.toString()}` : '');
  const me = useResource('me', (signal) => api('auth/me', { schema: MeResponseSchema, signal }));

  // An ended session (refresh refused) sends the operator to sign in, then back here.
  useEffect(
    () => onSessionEnded((end) => router.replace(signInUrl(window.location.pathname + window.location.search, end === 'expired'))),
    [router],
  );

  const setupPending = me.data?.totpSetupRequired ?? false;
  useEffect(() => {
    if (setupPending && pathname !== '/account/security')
      router.replace(`/account/security?setup=required&next=${encodeURIComponent(here)}`);
  }, [setupPending, pathname, here, router]);

  const ready = me.data !== undefined && !setupPending;
  useEffect(() => {
    if (!ready) return;
    const client = liveClient();
    client.start();
    return () => client.stop();
  }, [ready]);

  const { mutate } = me;
  const reloadMe = useCallback(async () => {
    const fresh = await api('auth/me', { schema: MeResponseSchema });
    mutate(() => fresh);
  }, [mutate]);
  const session = useMemo(() => (me.data ? sessionOf(me.data, reloadMe) : null), [me.data, reloadMe]);

  if (!session) {
    return (
      <main className={styles.content}>
        {me.error ? <ProblemView error={me.error} onRetry={me.reload} /> : <Loading label="Checking your session…" />}
      </main>
    );
  }

  async function signOut() {
    try {
      await api('auth/logout', { method: 'POST' });
    } finally {
      liveClient().stop();
      router.replace('/sign-in');
    }
  }

  return (
    <SessionContext.Provider value={session}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <StepUpProvider>
        <div className={styles.layout}>
          <aside className={styles.sidebar}>
            <Link href="/" className={styles.brand}>
              <Logo />
              <span>
                xSPECTRE Ops
                <small>Fleet console</small>
              </span>
            </Link>
            <nav className={styles.nav} aria-label="Main">
              {NAV.filter((item) => !item.permission || session.can(item.permission)).map((item) => (
                <div key={item.href}>
                  {item.group && <div className={styles.navGroup}>{item.group}</div>}
                  <Link
                    href={item.href}
                    className={`${styles.navLink} ${isActive(pathname, item.href) ? styles.active : ''}`}
                    aria-current={isActive(pathname, item.href) ? 'page' : undefined}
                  >
                    {item.label}
                    {item.href === '/alerts' && <OpenAlertsBadge />}
                  </Link>
                </div>
              ))}
            </nav>
          </aside>
          <div className={styles.main}>
            <header className={styles.topbar}>
              <LiveIndicator />
              <ThemeToggle />
              <div className={styles.user}>
                {session.me.displayName}
                <span data-testid="role">
                  {session.me.email} · {ROLE_LABELS[session.me.role]}
                </span>
              </div>
              <Button size="small" onClick={signOut}>
                Sign out
              </Button>
            </header>
            <main id="main" className={styles.content} tabIndex={-1}>
              {children}
            </main>
          </div>
        </div>
      </StepUpProvider>
    </SessionContext.Provider>
  );
}
