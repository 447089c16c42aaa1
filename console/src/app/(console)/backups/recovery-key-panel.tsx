'use client';

import { AgeRecipientSchema, BackupRecoveryKeySchema } from '@xspectre/contracts';
import { useState, type FormEvent } from 'react';
import { TimeAgo } from '../../../components/device-badges';
import { useCritical } from '../../../components/step-up';
import { Badge, Button, Card, Field, KeyValues, Loading, ProblemView, uiStyles } from '../../../components/ui';
import { api } from '../../../lib/api-client';
import { useResource } from '../../../lib/use-api';
import styles from './fleet-backups.module.css';

/**
 * The offline recovery key (Super Admins): every device's repository password is escrowed to it
 * (encrypted on the device), so nobody in the cloud can read backups alone. Setting or replacing
 * it is a critical action (TOTP step-up); devices escrow to a new key at their next run.
 */
export function RecoveryKeyPanel({ canSet }: { canSet: boolean }) {
  const critical = useCritical();
  const key = useResource('backup-recovery-key', (signal) => api('backups/recovery-key', { schema: BackupRecoveryKeySchema, signal }));
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function save(event: FormEvent) {
    event.preventDefault();
    const parsed = AgeRecipientSchema.safeParse(text.trim());
    setFieldError(parsed.success ? null : (parsed.error.issues[0]?.message ?? 'not an age recipient'));
    setError(null);
    if (!parsed.success) return;
    setBusy(true);
    try {
      const saved = await critical(() =>
        api('backups/recovery-key', { method: 'PUT', body: { recipient: parsed.data }, schema: BackupRecoveryKeySchema }),
      );
      key.mutate(() => saved);
      setEditing(false);
      setText('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const data = key.data;
  return (
    <Card
      title="Recovery key"
      actions={
        data && canSet && !editing ? (
          <Button size="small" onClick={() => setEditing(true)}>
            {data.recipient ? 'Replace key…' : 'Set key…'}
          </Button>
        ) : null
      }
    >
      {data === undefined ? (
        key.error ? (
          <ProblemView error={key.error} onRetry={key.reload} />
        ) : (
          <Loading label="Loading the recovery key…" />
        )
      ) : (
        <div data-testid="recovery-key">
          <p className={uiStyles.muted} style={{ marginTop: 0 }}>
            Devices encrypt their repository password to this age public key; its private half stays offline. To restore a dead
            device&apos;s data on new hardware, download its escrow, decrypt it with <span className="mono">age -d -i recovery.key</span>{' '}
            and paste the password on the replacement device&apos;s Backups tab.
          </p>
          <KeyValues
            rows={[
              [
                'Current key',
                data.recipient ? (
                  <span className={`mono ${styles.recipient}`} data-testid="recovery-recipient">
                    {data.recipient}
                  </span>
                ) : (
                  <Badge tone="warn">
                    <span data-testid="recovery-recipient">not set: no password is escrowed</span>
                  </Badge>
                ),
              ],
              ['Set', data.setAt ? <span>{[<TimeAgo key="t" iso={data.setAt} />, data.setBy ? ` by ${data.setBy}` : '']}</span> : '—'],
              [
                'Devices',
                <span key="d" data-testid="recovery-devices">
                  {data.devicesEscrowed} escrowed, {data.devicesPending} pending (at their next run)
                </span>,
              ],
            ]}
          />
          {editing && (
            <form className={styles.keyForm} onSubmit={save} data-testid="recovery-key-form" style={{ marginTop: 12 }}>
              <Field label="New recovery key" error={fieldError} hint="The output of age-keygen -y recovery.key (age1…).">
                <input className="mono" value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} autoComplete="off" />
              </Field>
              <Button type="submit" variant="primary" disabled={busy}>
                {busy ? 'Saving…' : 'Save key'}
              </Button>
              <Button
                onClick={() => {
                  setEditing(false);
                  setText('');
                  setFieldError(null);
                  setError(null);
                }}
                disabled={busy}
              >
                Cancel
              </Button>
            </form>
          )}
          {error ? <ProblemView error={error} /> : null}
        </div>
      )}
    </Card>
  );
}
