'use client';

import { DeviceSshHostKeySchema } from '@xspectre/contracts';
import { useState } from 'react';
import { api } from '../lib/api-client';
import { dateTime } from '../lib/format';
import { useSession } from '../lib/session';
import { useResource } from '../lib/use-api';
import { useCritical } from './step-up';
import { Button, ConfirmDialog, Field, ProblemView } from './ui';

/**
 * The device page's banner while the device presents an SSH host key other than the pinned one:
 * terminal and files are refused until a Super Admin accepts the new key (critical, step-up),
 * like accepting new hardware. Nothing shows when the key matches or cannot be read.
 */
export function SshHostKeyBanner({ deviceId, deviceName, version }: { deviceId: string; deviceName: string; version: number }) {
  const { can } = useSession();
  const critical = useCritical();
  const hostKey = useResource(`ssh-host-key:${deviceId}:${version}`, (signal) =>
    api(`devices/${deviceId}/ssh-host-key`, { schema: DeviceSshHostKeySchema, signal }),
  );
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const pending = hostKey.data?.pending;
  if (!pending) return null;
  const pinned = hostKey.data?.pinned;

  async function accept() {
    setBusy(true);
    setError(null);
    try {
      await critical(() => api(`devices/${deviceId}/ssh-host-key/accept`, { method: 'POST', body: { reason } }));
      setOpen(false);
      setReason('');
      hostKey.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <div data-testid="ssh-host-key-banner">
        <ProblemView
          problem={{
            type: 'about:blank',
            title: 'SSH host key changed',
            status: 0,
            detail: `${deviceName} presented a different SSH host key (${pending.source === 'inventory' ? 'reported by its agent' : 'on connection'} at ${dateTime(pending.seenAt)}): ${pinned?.fingerprint ?? 'none pinned'} → ${pending.fingerprint}. Terminal and files are refused until a Super Admin accepts the new key.`,
            code: 'SSH_HOST_KEY_CHANGED',
          }}
          action={
            can('devices.critical_actions') ? (
              <Button size="small" onClick={() => setOpen(true)}>
                Accept the new host key…
              </Button>
            ) : undefined
          }
        />
      </div>
      <ConfirmDialog
        open={open}
        title="Accept the new SSH host key?"
        confirmLabel="Accept the new host key"
        busy={busy}
        onCancel={() => {
          setOpen(false);
          setError(null);
        }}
        onConfirm={() => void accept()}
      >
        <p>
          Terminals and file sessions to <strong>{deviceName}</strong> will trust <code>{pending.fingerprint}</code> instead of{' '}
          <code>{pinned?.fingerprint ?? 'nothing'}</code>. Do this only when you know why the key changed (a reinstalled system, regenerated
          keys): otherwise someone may be impersonating the device.
        </p>
        <Field label="Why is the new host key trusted?">
          <textarea rows={3} minLength={3} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
        </Field>
        {error ? <ProblemView error={error} /> : null}
      </ConfirmDialog>
    </>
  );
}
