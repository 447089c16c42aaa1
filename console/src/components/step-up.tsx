'use client';

import { SSO_FAILURE_MESSAGES, SsoFailureReasonSchema, SsoRedirectSchema, StepUpResponseSchema } from '@xspectre/contracts';
import Link from 'next/link';
import { createContext, useCallback, useContext, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, isApiError } from '../lib/api-client';
import { SessionContext } from '../lib/session';
import { Button, Field, ProblemView, uiStyles, useModalDialog } from './ui';

type Critical = <T>(action: () => Promise<T>) => Promise<T>;

const StepUpContext = createContext<Critical | null>(null);

interface Pending {
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  refusal: unknown;
}

/** What the API accepts as `returnTo` (contracts/src/sso.ts ReturnToSchema). */
const RETURN_TO = /^\/(?![/\\])[\x21-\x7e]{0,1023}$/;

/** Remembers across the trip to the IdP that this tab went to step up (to say so when it comes back). */
const STEP_UP_TRIP = 'xs_sso_step_up';

/** The operator-facing text of an SSO refusal (`sso_error=<reason>`); unknown reasons get a generic one, never the raw value. */
export function ssoFailureMessage(reason: string): string {
  const known = SsoFailureReasonSchema.safeParse(reason);
  return known.success ? SSO_FAILURE_MESSAGES[known.data] : 'Single sign-on did not complete. Try again or ask an administrator.';
}

function currentReturnTo(): string {
  const here = window.location.pathname + window.location.search;
  return RETURN_TO.test(here) ? here : RETURN_TO.test(window.location.pathname) ? window.location.pathname : '/';
}

/**
 * Critical actions (AUTH_STEP_UP_REQUIRED) ask for a fresh authenticator code, verify it with
 * POST auth/step-up, then run the action again, all in one dialog. An SSO session steps up at its
 * identity provider instead (POST auth/sso/step-up): the browser leaves for the IdP and comes back
 * to this page, where the operator repeats the action within the step-up window.
 */
export function StepUpProvider({ children }: { children: ReactNode }) {
  const [pending, setPending] = useState<Pending | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const dialog = useModalDialog(pending !== null);
  const sso = useContext(SessionContext)?.me.authMethod === 'sso';
  const [returned, setReturned] = useState<{ ok: true } | { ok: false; message: string } | null>(null);

  // Back from the identity provider: a refused step-up comes back with ?sso_error=<reason>.
  useEffect(() => {
    const url = new URL(window.location.href);
    const reason = url.searchParams.get('sso_error');
    const trip = window.sessionStorage.getItem(STEP_UP_TRIP);
    window.sessionStorage.removeItem(STEP_UP_TRIP);
    if (reason !== null) {
      setReturned({ ok: false, message: ssoFailureMessage(reason) });
      url.searchParams.delete('sso_error');
      window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    } else if (trip !== null && trip === url.pathname + url.search) {
      setReturned({ ok: true });
    }
  }, []);

  const critical = useCallback<Critical>(async <T,>(action: () => Promise<T>) => {
    try {
      return await action();
    } catch (e) {
      if (!isApiError(e) || e.code !== 'AUTH_STEP_UP_REQUIRED') throw e;
      return new Promise<T>((resolve, reject) => {
        setCode('');
        setError(null);
        setPending({ run: action, resolve: resolve as (v: unknown) => void, reject, refusal: e });
      });
    }
  }, []);

  function cancel() {
    pending?.reject(pending.refusal);
    setPending(null);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!pending) return;
    if (sso) {
      await reauthenticateAtIdp();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api('auth/step-up', { method: 'POST', body: { code: code.trim() }, schema: StepUpResponseSchema });
    } catch (e) {
      setError(e);
      setBusy(false);
      return;
    }
    try {
      pending.resolve(await pending.run());
    } catch (e) {
      pending.reject(e);
    } finally {
      setBusy(false);
      setPending(null);
    }
  }

  async function reauthenticateAtIdp() {
    setBusy(true);
    setError(null);
    try {
      const returnTo = currentReturnTo();
      const { redirectUrl } = await api('auth/sso/step-up', {
        method: 'POST',
        body: { returnTo },
        schema: SsoRedirectSchema,
      });
      // The page is left for the identity provider; the pending action is not retried here.
      window.sessionStorage.setItem(STEP_UP_TRIP, returnTo);
      window.location.assign(redirectUrl);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }

  const totpMissing = isApiError(error) && error.code === 'AUTH_TOTP_NOT_ENABLED';
  return (
    <StepUpContext.Provider value={critical}>
      {returned && (
        <div
          role={returned.ok ? 'status' : 'alert'}
          data-testid="sso-step-up-result"
          className={uiStyles.problem}
          // A toast over the page: the shell's layout stays as it is.
          style={{
            position: 'fixed',
            top: 12,
            right: 12,
            zIndex: 50,
            maxWidth: 420,
            boxShadow: 'var(--shadow)',
            background: 'var(--bg-raised)',
            borderColor: returned.ok ? 'var(--ok)' : 'var(--bad)',
          }}
        >
          <strong>{returned.ok ? 'Signed in again at your identity provider' : 'The identity provider did not confirm you'}</strong>
          <div>{returned.ok ? 'Critical actions are unlocked for a few minutes: repeat the action.' : returned.message}</div>
          <div style={{ marginTop: 6 }}>
            <Button size="small" onClick={() => setReturned(null)}>
              Dismiss
            </Button>
          </div>
        </div>
      )}
      {children}
      <dialog ref={dialog} onCancel={cancel} aria-labelledby="step-up-title">
        <form onSubmit={submit} style={{ display: 'flex', flexDirection: 'column', gap: 12 }}>
          <h2 id="step-up-title">Confirm a critical action</h2>
          {sso ? (
            <p style={{ margin: 0 }} data-testid="sso-step-up">
              Sign in again at your identity provider. You come back to this page; critical actions are then unlocked for a few minutes:
              repeat the action.
            </p>
          ) : (
            <p style={{ margin: 0 }}>Enter a fresh code from your authenticator app. It unlocks critical actions for a few minutes.</p>
          )}
          {error ? <ProblemView error={error} /> : null}
          {!sso && totpMissing && (
            <p className={uiStyles.muted} style={{ margin: 0 }}>
              <Link href="/account/security">Set up two-factor authentication</Link> first.
            </p>
          )}
          {!sso && (
            <Field label="Authentication code">
              <input
                inputMode="numeric"
                autoComplete="one-time-code"
                pattern="[0-9]{6}"
                maxLength={6}
                required
                value={code}
                onChange={(e) => setCode(e.target.value)}
                autoFocus
              />
            </Field>
          )}
          <div className={uiStyles.dialogActions}>
            <Button onClick={cancel} disabled={busy}>
              Cancel
            </Button>
            <Button type="submit" variant="primary" disabled={busy}>
              {sso ? (busy ? 'Redirecting…' : 'Sign in again') : busy ? 'Verifying…' : 'Verify and continue'}
            </Button>
          </div>
        </form>
      </dialog>
    </StepUpContext.Provider>
  );
}

/** Runs an action that may need a step-up; the dialog appears only when the API asks for it. */
export function useCritical(): Critical {
  const critical = useContext(StepUpContext);
  if (!critical) throw new Error('useCritical outside StepUpProvider');
  return critical;
}
