'use client';

import { LoginResponseSchema, SessionTokensSchema } from '@xspectre/contracts';
import { useRouter, useSearchParams } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { Logo } from '../../components/logo';
import { Button, Field, ProblemView } from '../../components/ui';
import { api } from '../../lib/api-client';
import { safeNext } from '../../lib/safe-next';
import styles from './sign-in.module.css';
import { ssoFailureMessage } from '../../components/step-up';
import { SsoButtons, useSsoOptions } from './sso-options';

type Step = { kind: 'password' } | { kind: 'totp'; mfaToken: string };

export function SignInForm() {
  const router = useRouter();
  const params = useSearchParams();
  const next = safeNext(params.get('next'));
  const [step, setStep] = useState<Step>({ kind: 'password' });
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [useRecovery, setUseRecovery] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const sso = useSsoOptions();
  const ssoProviders = sso.data?.providers ?? [];
  const ssoError = params.get('sso_error');

  function finish(totpSetupRequired: boolean) {
    router.replace(totpSetupRequired ? `/account/security?setup=required&next=${encodeURIComponent(next)}` : next);
  }

  async function submitPassword(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = await api('auth/login', { method: 'POST', body: { email, password }, schema: LoginResponseSchema });
      setPassword('');
      if ('mfaRequired' in result) setStep({ kind: 'totp', mfaToken: result.mfaToken });
      else finish(result.totpSetupRequired);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function submitCode(event: FormEvent) {
    event.preventDefault();
    if (step.kind !== 'totp') return;
    setBusy(true);
    setError(null);
    try {
      const body = useRecovery ? { mfaToken: step.mfaToken, recoveryCode: code.trim() } : { mfaToken: step.mfaToken, code: code.trim() };
      const result = await api('auth/totp/verify', { method: 'POST', body, schema: SessionTokensSchema });
      finish(result.totpSetupRequired);
    } catch (e) {
      setError(e);
      setCode('');
    } finally {
      setBusy(false);
    }
  }

  const passwordForm = (
    <form onSubmit={submitPassword} style={{ display: 'flex', flexDirection: 'column', gap: 14 }}>
      <Field label="Email">
        <input
          type="email"
          name="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          autoFocus
        />
      </Field>
      <Field label="Password">
        <input
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </Field>
      <Button type="submit" variant="primary" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </Button>
    </form>
  );

  return (
    <main className={styles.page}>
      <div className={styles.panel}>
        <div className={styles.brand}>
          <Logo size={36} />
          <div>
            <h1>xSPECTRE Ops Console</h1>
            <p>Sign in to operate the fleet</p>
          </div>
        </div>
        {params.get('expired') && step.kind === 'password' && (
          <div className={styles.notice} role="status">
            Your session ended. Sign in again to continue where you were.
          </div>
        )}
        {ssoError && step.kind === 'password' && (
          <div className={styles.ssoError} role="alert" data-testid="sso-error">
            {ssoFailureMessage(ssoError)}
          </div>
        )}
        {error ? <ProblemView error={error} /> : null}
        {step.kind === 'password' ? (
          <>
            {ssoProviders.length > 0 && <SsoButtons providers={ssoProviders} next={next} />}
            {ssoProviders.length > 0 && sso.data?.ssoRequired ? (
              // SSO is mandatory: the password is only for the named break-glass accounts.
              <details className={styles.breakGlass}>
                <summary>Break-glass sign-in</summary>
                {passwordForm}
              </details>
            ) : (
              <>
                {ssoProviders.length > 0 && <div className={styles.divider}>or with your password</div>}
                {passwordForm}
              </>
            )}
          </>
        ) : (
          <form onSubmit={submitCode} style={{ display: 'flex', flexDirection: 'column', gap: 14 }}>
            <p style={{ margin: 0 }}>
              {useRecovery
                ? 'Enter one of your recovery codes (xxxxx-xxxxx). Each works once.'
                : 'Enter the 6-digit code from your authenticator app.'}
            </p>
            <Field label={useRecovery ? 'Recovery code' : 'Authentication code'}>
              <input
                key={useRecovery ? 'recovery' : 'totp'}
                name="code"
                inputMode={useRecovery ? 'text' : 'numeric'}
                autoComplete="one-time-code"
                pattern={useRecovery ? '[A-Za-z2-7]{5}-?[A-Za-z2-7]{5}' : '[0-9]{6}'}
                maxLength={useRecovery ? 11 : 6}
                required
                value={code}
                onChange={(e) => setCode(e.target.value)}
                autoFocus
              />
            </Field>
            <Button type="submit" variant="primary" disabled={busy}>
              {busy ? 'Verifying…' : 'Verify'}
            </Button>
            <button
              type="button"
              className={styles.linkButton}
              onClick={() => {
                setUseRecovery((v) => !v);
                setCode('');
                setError(null);
              }}
            >
              {useRecovery ? 'Use an authenticator code instead' : 'Lost your authenticator? Use a recovery code'}
            </button>
            <button
              type="button"
              className={styles.linkButton}
              onClick={() => {
                setStep({ kind: 'password' });
                setCode('');
                setError(null);
              }}
            >
              ← Back to email and password
            </button>
          </form>
        )}
      </div>
    </main>
  );
}
