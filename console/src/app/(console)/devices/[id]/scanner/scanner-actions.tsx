'use client';

import { CommandSchema, type Command, type CommandStatus } from '@xspectre/contracts';
import Link from 'next/link';
import { useState } from 'react';
import { useCritical } from '../../../../../components/step-up';
import { Badge, Button, Card, ConfirmDialog, ProblemView, uiStyles } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import { commandBlocker, statusTone } from '../../../../../lib/commands';
import { useLive } from '../../../../../lib/use-live';
import { useDeviceFrame } from '../device-frame';
import styles from './device-scanner.module.css';

type ScannerAction =
  | { key: 'refresh'; action: 'scanner.refresh'; params: Record<string, never>; label: string; verb: string; body: string }
  | { key: string; action: 'scanner.restart'; params: { service: 'gvmd' | 'ospd-openvas' }; label: string; verb: string; body: string }
  | { key: 'feed-update'; action: 'scanner.feed-update'; params: { pruneOldImages: boolean }; label: string; verb: string; body: string }
  | { key: 'provision'; action: 'scanner.provision-monitor'; params: Record<string, never>; label: string; verb: string; body: string };

const ACTIONS = {
  refresh: {
    key: 'refresh',
    action: 'scanner.refresh',
    params: {},
    label: 'Refresh now',
    verb: 'Refresh the GMP report',
    body: 'The agent asks gvmd at once instead of at its next 10-minute poll and sends the report with its next heartbeat.',
  },
  'restart-gvmd': {
    key: 'restart-gvmd',
    action: 'scanner.restart',
    params: { service: 'gvmd' },
    label: 'Restart gvmd',
    verb: 'Restart gvmd',
    body: 'The gvmd container is restarted: GMP is unavailable for a minute; running scans continue in ospd-openvas.',
  },
  'restart-ospd': {
    key: 'restart-ospd',
    action: 'scanner.restart',
    params: { service: 'ospd-openvas' },
    label: 'Restart ospd-openvas',
    verb: 'Restart ospd-openvas',
    body: 'The scanner daemon is restarted: scans running now are interrupted and must be resumed or started again.',
  },
} as const satisfies Record<string, ScannerAction>;

/**
 * The scanner's actions, as signed commands through the device commands route (devices.manage):
 * refresh now, restart gvmd or ospd-openvas, update feeds (optionally pruning the replaced feed
 * images); "provision the monitor account" goes to the critical route (Super Admin, step-up).
 * Shown only to operators who may ask for them; the API's refusal is shown in the dialog.
 */
export function ScannerActionsCard({ mayManage, mayProvision }: { mayManage: boolean; mayProvision: boolean }) {
  const { device } = useDeviceFrame();
  const critical = useCritical();
  const [choice, setChoice] = useState<ScannerAction | null>(null);
  const [prune, setPrune] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [queued, setQueued] = useState<Array<{ id: string; label: string; status: CommandStatus }>>([]);

  useLive((message) => {
    if (message.type !== 'command.changed') return;
    const c = message.command;
    setQueued((list) => (list.some((q) => q.id === c.id) ? list.map((q) => (q.id === c.id ? { ...q, status: c.status } : q)) : list));
  });

  const blocker = commandBlocker(device);
  const open = (a: ScannerAction) => {
    setError(null);
    setChoice(a);
  };

  async function confirm() {
    if (!choice) return;
    const action = choice.key === 'feed-update' ? { ...choice, params: { pruneOldImages: prune } } : choice;
    const isCritical = action.action === 'scanner.provision-monitor';
    const send = () =>
      api(`devices/${device.id}/${isCritical ? 'critical-commands' : 'commands'}`, {
        method: 'POST',
        body: { action: action.action, params: action.params },
        schema: CommandSchema,
      });
    setBusy(true);
    setError(null);
    try {
      const command: Command = await (isCritical ? critical(send) : send());
      setQueued((list) => [{ id: command.id, label: action.label, status: command.status }, ...list].slice(0, 5));
      setChoice(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Actions">
      <div className={styles.actions} data-testid="scanner-actions">
        {mayManage && (
          <>
            <Button onClick={() => open(ACTIONS.refresh)} disabled={blocker !== null}>
              Refresh now
            </Button>
            <Button onClick={() => open(ACTIONS['restart-gvmd'])} disabled={blocker !== null}>
              Restart gvmd
            </Button>
            <Button onClick={() => open(ACTIONS['restart-ospd'])} disabled={blocker !== null}>
              Restart ospd-openvas
            </Button>
            <Button
              onClick={() =>
                open({
                  key: 'feed-update',
                  action: 'scanner.feed-update',
                  params: { pruneOldImages: prune },
                  label: 'Update feeds',
                  verb: 'Update the feeds',
                  body: 'The feed data images are pulled and their containers recreated, as Greenbone documents; gvmd and ospd-openvas then load the new data (this takes a while and shows as syncing).',
                })
              }
              disabled={blocker !== null}
            >
              Update feeds…
            </Button>
          </>
        )}
        {mayProvision && (
          <Button
            variant="danger"
            onClick={() =>
              open({
                key: 'provision',
                action: 'scanner.provision-monitor',
                params: {},
                label: 'Provision monitor account',
                verb: 'Provision the monitor account',
                body: 'Creates (or resets) the read-only gvmd user xspectre-monitor with gvmd’s own command line in its container. Its password stays on the device, readable by root only. The agent also checks once whether admin/admin still works.',
              })
            }
            disabled={blocker !== null}
          >
            Provision monitor account…
          </Button>
        )}
      </div>
      {blocker && <p className={uiStyles.muted}>{blocker.reason}</p>}
      {queued.length > 0 && (
        <ul className={styles.queued} data-testid="queued-commands">
          {queued.map((q) => (
            <li key={q.id}>
              {q.label}: <Badge tone={statusTone(q.status)}>{q.status}</Badge>{' '}
              <Link href={`/devices/${device.id}/commands?command=${q.id}`}>details</Link>
            </li>
          ))}
        </ul>
      )}
      <ConfirmDialog
        open={choice !== null}
        title={choice ? `${choice.verb} on ${device.name}?` : ''}
        confirmLabel={choice?.label ?? ''}
        danger={choice?.key === 'restart-ospd' || choice?.key === 'provision'}
        busy={busy}
        onCancel={() => {
          setChoice(null);
          setError(null);
        }}
        onConfirm={() => void confirm()}
      >
        <p>{choice?.body}</p>
        {choice?.key === 'feed-update' && (
          <label className={styles.inline}>
            <input type="checkbox" checked={prune} onChange={(e) => setPrune(e.target.checked)} /> Prune the old feed images afterwards
          </label>
        )}
        {choice?.key === 'provision' && (
          <p className={styles.critical} role="note">
            A critical action: it needs a fresh code from your authenticator app.
          </p>
        )}
        {error ? <ProblemView error={error} /> : null}
      </ConfirmDialog>
    </Card>
  );
}
