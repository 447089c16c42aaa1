'use client';

import { PASSWORD_MIN_LENGTH, TotpEnableResponseSchema, TotpSetupResponseSchema } from '@xspectre/contracts';
import { useRouter, useSearchParams } from 'next/navigation';
import QRCode from 'qrcode';
import { useEffect, useState, type FormEvent } from 'react';
import { PageHeader } from '../../../../components/page-header';
import { Badge, Button, Card, CopyRow, Field, ProblemView, uiStyles } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { safeNext } from '../../../../lib/safe-next';
import { useSession } from '../../../../lib/session';

type Stage = { kind: 'idle' } | { kind: 'scan'; uri: string; secret: string; qr: string } | { kind: 'codes'; codes: string[] };

export function AccountSecurity() {
  const { me, reload } = useSession();
  const router = useRouter();
  const params = useSearchParams();
  const required = params.get('setup') === 'required' || me.totpSetupRequired;
  const [stage, setStage] = useState<Stage>({ kind: 'idle' });
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function start() {
    setBusy(true);
    setError(null);
    try {
      const setup = await api('auth/totp/setup', { method: 'POST', schema: TotpSetupResponseSchema });
      const qr = await QRCode.toDataURL(setup.otpauthUri, { margin: 1, width: 220, errorCorrectionLevel: 'M' });
      setStage({ kind: 'scan', uri: setup.otpauthUri, secret: setup.secret, qr });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function enable(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = await api('auth/totp/enable', { method: 'POST', body: { code: code.trim() }, schema: TotpEnableResponseSchema });
      setStage({ kind: 'codes', codes: result.recoveryCodes });
      setCode('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  // Start right away when the policy sent the operator here.
  useEffect(() => {
    if (required && !me.totpEnabled && stage.kind === 'idle' && !busy && !error) void start();
    // Once per arrival: later renders must not restart a setup in progress.
  }, [required]);

  // An SSO session's password and second factor live at its identity provider.
  if (me.authMethod === 'sso') {
    return (
      <>
        <PageHeader title="Sign-in security" subtitle={`${me.displayName} · ${me.email}`} />
        <Card title="Single sign-on" actions={<Badge tone="ok">identity provider</Badge>}>
          <p data-testid="sso-account" style={{ margin: 0 }}>
            You signed in with single sign-on: your password and second factor are managed by your identity provider. Critical actions ask
            it to sign you in again.
          </p>
        </Card>
      </>
    );
  }

  return (
    <>
      <PageHeader title="Sign-in security" subtitle={`${me.displayName} · ${me.email}`} />
      {required && !me.totpEnabled && (
        <ProblemView
          problem={{
            type: 'about:blank',
            title: 'Two-factor authentication is required',
            status: 403,
            detail: 'Your organization requires an authenticator app. Set it up to continue to the console.',
            code: 'AUTH_TOTP_SETUP_REQUIRED',
          }}
        />
      )}
      {error ? <ProblemView error={error} /> : null}
      <Card
        title="Authenticator app (TOTP)"
        actions={me.totpEnabled || stage.kind === 'codes' ? <Badge tone="ok">enabled</Badge> : <Badge tone="warn">not set up</Badge>}
      >
        {stage.kind === 'codes' ? (
          <div style={{ display: 'flex', flexDirection: 'column', gap: 12 }} data-testid="recovery-codes">
            <p style={{ margin: 0 }}>
              Two-factor authentication is on. These <strong>recovery codes</strong> are shown only now: each signs you in once if you lose
              your phone. Store them in your password manager.
            </p>
            <ol className="mono" style={{ columns: 2, margin: 0 }}>
              {stage.codes.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ol>
            <CopyRow text={stage.codes.join('\n')} label="All recovery codes" />
            <div>
              <Button
                variant="primary"
                onClick={async () => {
                  // The shell must know TOTP is on before leaving, or it would send the operator back here.
                  try {
                    await reload();
                  } catch (e) {
                    setError(e);
                    return;
                  }
                  setStage({ kind: 'idle' });
                  router.replace(safeNext(params.get('next')));
                }}
              >
                I have saved them — continue
              </Button>
            </div>
          </div>
        ) : stage.kind === 'scan' ? (
          <div style={{ display: 'flex', gap: 24, flexWrap: 'wrap', alignItems: 'flex-start' }}>
            {/* A data: URL generated here; the secret never leaves the browser for a QR service. */}
            <img
              src={stage.qr}
              width={220}
              height={220}
              alt="QR code to scan with your authenticator app"
              style={{ borderRadius: 8, background: '#fff' }}
            />
            <form onSubmit={enable} style={{ display: 'flex', flexDirection: 'column', gap: 12, minWidth: 280, flex: 1 }}>
              <p style={{ margin: 0 }}>1. Scan the code with your authenticator app (or type the key below).</p>
              <div>
                <div className={uiStyles.muted} style={{ fontSize: 12 }}>
                  Key
                </div>
                <code data-testid="totp-secret">{stage.secret}</code>
              </div>
              <p style={{ margin: 0 }}>2. Enter the 6-digit code it shows.</p>
              <Field label="Code from the app">
                <input
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  pattern="[0-9]{6}"
                  maxLength={6}
                  required
                  value={code}
                  onChange={(e) => setCode(e.target.value)}
                />
              </Field>
              <div>
                <Button type="submit" variant="primary" disabled={busy}>
                  {busy ? 'Checking…' : 'Turn on two-factor authentication'}
                </Button>
              </div>
            </form>
          </div>
        ) : me.totpEnabled ? (
          <p style={{ margin: 0 }}>
            Sign-in asks for a code from your authenticator app. Lost it? Sign in with a recovery code, or ask a Super Admin to reset it.
          </p>
        ) : (
          <div style={{ display: 'flex', flexDirection: 'column', gap: 12, alignItems: 'flex-start' }}>
            <p style={{ margin: 0 }}>Protect your account with a code from an authenticator app at every sign-in.</p>
            <Button variant="primary" onClick={() => void start()} disabled={busy}>
              {busy ? 'Starting…' : 'Set up two-factor authentication'}
            </Button>
          </div>
        )}
      </Card>
      <ChangePassword />
    </>
  );
}

function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const mismatch = repeat !== '' && next !== repeat;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (mismatch) return;
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      await api('auth/password', { method: 'POST', body: { currentPassword: current, newPassword: next } });
      setCurrent('');
      setNext('');
      setRepeat('');
      setDone(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Password">
      <form
        onSubmit={submit}
        style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(200px, 1fr))', gap: 12, alignItems: 'end' }}
      >
        <Field label="Current password">
          <input type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        </Field>
        <Field label="New password">
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={PASSWORD_MIN_LENGTH}
            placeholder={`at least ${PASSWORD_MIN_LENGTH} characters`}
            value={next}
            onChange={(e) => setNext(e.target.value)}
          />
        </Field>
        <Field label="New password again" error={mismatch ? 'does not match' : null}>
          <input type="password" autoComplete="new-password" required value={repeat} onChange={(e) => setRepeat(e.target.value)} />
        </Field>
        <Button type="submit" variant="primary" disabled={busy || mismatch}>
          {busy ? 'Changing…' : 'Change password'}
        </Button>
      </form>
      {done && (
        <p role="status" style={{ margin: '10px 0 0' }}>
          <Badge tone="ok">changed</Badge> Use the new password at your next sign-in.
        </p>
      )}
      {error ? (
        <div style={{ marginTop: 10 }}>
          <ProblemView error={error} />
        </div>
      ) : null}
    </Card>
  );
}
