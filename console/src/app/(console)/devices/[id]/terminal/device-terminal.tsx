'use client';

import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { TerminalSession } from '../../../../../components/terminal-session';
import { Button, ProblemView } from '../../../../../components/ui';
import { recoveryShellRefusal, remoteAccessRefusal } from '../../../../../lib/remote-access';
import { useSession } from '../../../../../lib/session';
import { useDeviceFrame } from '../device-frame';
import styles from './device-terminal.module.css';

/**
 * The terminal tab: one or more shells on the device (each its own ticket and WebSocket), switched
 * by tabs. `?target=recovery` (the RECOVERY MODE banner's "Recovery shell"): root shells on the
 * device's booted recovery stick instead, for Super Admins.
 */
export function DeviceTerminal() {
  const { device, org, recovery } = useDeviceFrame();
  const { me, can } = useSession();
  const target = useSearchParams().get('target') === 'recovery' ? 'recovery' : 'device';
  const [terminals, setTerminals] = useState<number[]>([1]);
  const [active, setActive] = useState(1);
  const [next, setNext] = useState(2);
  const refusal =
    target === 'recovery'
      ? recoveryShellRefusal(me.role, device, recovery.mode?.recoveryMode ?? null, recovery.media.data !== undefined)
      : remoteAccessRefusal(me.role, can('devices.manage'), org?.kind, device);
  const label = target === 'recovery' ? 'Recovery shell' : 'Terminal';

  const recordings = can('audit.view') ? (
    <Link href={`/sessions?deviceId=${device.id}`} data-testid="device-recordings">
      Recordings of this device
    </Link>
  ) : null;

  if (refusal) {
    return (
      <div style={{ marginTop: 12 }}>
        <ProblemView
          problem={{
            type: 'about:blank',
            title: target === 'recovery' ? 'No recovery shell' : 'No terminal',
            status: 0,
            detail: refusal,
            code: 'REMOTE_ACCESS_UNAVAILABLE',
          }}
          action={recordings}
        />
      </div>
    );
  }

  function open() {
    setTerminals((t) => [...t, next]);
    setActive(next);
    setNext((n) => n + 1);
  }
  function close(n: number) {
    const rest = terminals.filter((t) => t !== n);
    setTerminals(rest);
    if (active === n) setActive(rest.at(-1) ?? 0);
  }

  return (
    <>
      <div className={styles.bar} role="tablist" aria-label="Terminals" data-target={target}>
        {terminals.map((n) => (
          <span key={n} className={styles.pick} role="tab" aria-selected={n === active} onClick={() => setActive(n)}>
            {label} {n}
            <button
              type="button"
              className={styles.close}
              aria-label={`Close ${label.toLowerCase()} ${n}`}
              onClick={(e) => (e.stopPropagation(), close(n))}
            >
              ×
            </button>
          </span>
        ))}
        <Button size="small" onClick={open}>
          + New {label.toLowerCase()}
        </Button>
        <span className={styles.spacer} />
        {recordings}
      </div>
      <div className={styles.area}>
        {terminals.map((n) => (
          <TerminalSession key={`${target}-${n}`} deviceId={device.id} deviceName={device.name} visible={n === active} target={target} />
        ))}
        {terminals.length === 0 && (
          <p>
            No {label.toLowerCase()} open. “New {label.toLowerCase()}” opens one.
          </p>
        )}
      </div>
    </>
  );
}
