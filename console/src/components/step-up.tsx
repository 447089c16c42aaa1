'use client';

import { StepUpResponseSchema } from '@xspectre/contracts';
import Link from 'next/link';
import { createContext, useCallback, useContext, useState, type FormEvent, type ReactNode } from 'react';
import { api, isApiError } from '../lib/api-client';
import { Button, Field, ProblemView, uiStyles, useModalDialog } from './ui';

type Critical = <T>(action: () => Promise<T>) => Promise<T>;

const StepUpContext = createContext<Critical | null>(null);

interface Pending {
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  refusal: unknown;
}

/**
 * Critical actions (AUTH_STEP_UP_REQUIRED) ask for a fresh authenticator code, verify it with
 * POST auth/step-up, then run the action again, all in one dialog.
 */
export function StepUpProvider({ children }: { children: ReactNode }) {
  const [pending, setPending] = useState<Pending | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const dialog = useModalDialog(pending !== null);

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

  const totpMissing = isApiError(error) && error.code === 'AUTH_TOTP_NOT_ENABLED';
  return (
    <StepUpContext.Provider value={critical}>
      {children}
      <dialog ref={dialog} onCancel={cancel} aria-labelledby="step-up-title">
        <form onSubmit={submit} style={{ display: 'flex', flexDirection: 'column', gap: 12 }}>
          <h2 id="step-up-title">Confirm a critical action</h2>
          <p style={{ margin: 0 }}>Enter a fresh code from your authenticator app. It unlocks critical actions for a few minutes.</p>
          {error ? <ProblemView error={error} /> : null}
          {totpMissing && (
            <p className={uiStyles.muted} style={{ margin: 0 }}>
              <Link href="/account/security">Set up two-factor authentication</Link> first.
            </p>
          )}
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
          <div className={uiStyles.dialogActions}>
            <Button onClick={cancel} disabled={busy}>
              Cancel
            </Button>
            <Button type="submit" variant="primary" disabled={busy}>
              {busy ? 'Verifying…' : 'Verify and continue'}
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
