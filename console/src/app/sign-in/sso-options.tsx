'use client';

import { SsoSignInOptionsSchema, type SsoSignInOptions } from '@xspectre/contracts';
import { api } from '../../lib/api-client';
import { useResource } from '../../lib/use-api';
import styles from './sign-in.module.css';

type Option = SsoSignInOptions['providers'][number];

/** What the API accepts as `returnTo` (contracts/src/sso.ts ReturnToSchema); anything else lands on the overview. */
const RETURN_TO = /^\/(?![/\\])[\x21-\x7e]{0,1023}$/;

export function ssoLoginHref(option: Option, next: string): string {
  const returnTo = RETURN_TO.test(next) ? next : '/';
  return `/api/v1/auth/sso/${encodeURIComponent(option.id)}/login?returnTo=${encodeURIComponent(returnTo)}`;
}

export function ssoButtonLabel(option: Option): string {
  if (option.preset === 'entra') return 'Sign in with Microsoft';
  if (option.preset === 'google') return 'Sign in with Google';
  return `Sign in with ${option.name}`;
}

/** The enabled identity providers and whether SSO is mandatory; none (or no answer) = password only. */
export function useSsoOptions() {
  return useResource('sso-providers', (signal) => api('auth/sso/providers', { schema: SsoSignInOptionsSchema, signal }));
}

export function SsoButtons({ providers, next }: { providers: Option[]; next: string }) {
  return (
    <div className={styles.sso} data-testid="sso-buttons">
      {providers.map((p) => (
        // A plain link: the API answers with a redirect to the identity provider.
        <a key={p.id} className={styles.ssoButton} href={ssoLoginHref(p, next)}>
          <span className={styles.ssoMark} aria-hidden="true">
            {p.preset === 'entra' ? '⊞' : p.preset === 'google' ? 'G' : '⇥'}
          </span>
          {ssoButtonLabel(p)}
        </a>
      ))}
    </div>
  );
}
