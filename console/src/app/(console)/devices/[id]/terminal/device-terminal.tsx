'use client';

import Link from 'next/link';
import { useState } from 'react';
import { TerminalSession } from '../../../../../components/terminal-session';
import { Button, ProblemView } from '../../../../../components/ui';
import { remoteAccessRefusal } from '../../../../../lib/remote-access';
import { useSession } from '../../../../../lib/session';
import { useDeviceFrame } from '../device-frame';
import styles from './device-terminal.module.css';

/** The terminal tab: one or more shells on the device (each its own ticket and WebSocket), switched by tabs. */
export function DeviceTerminal() {
  const { device, org } = useDeviceFrame();
  const { me, can } = useSession();
  const [terminals, setTerminals] = useState<number[]>([1]);
  const [active, setActive] = useState(1);
  const [next, setNext] = useState(2);
  const refusal = remoteAccessRefusal(me.role, can('devices.manage'), org?.kind, device);

  const recordings = can('audit.view') ? (
    <Link href={`/sessions?deviceId=${device.id}`} data-testid="device-recordings">
      Recordings of this device
    </Link>
  ) : null;

  if (refusal) {
    return (
      <div style={{ marginTop: 12 }}>
        <ProblemView
          problem={{ type: 'about:blank', title: 'No terminal', status: 0, detail: refusal, code: 'REMOTE_ACCESS_UNAVAILABLE' }}
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
      <div className={styles.bar} role="tablist" aria-label="Terminals">
        {terminals.map((n) => (
          <span key={n} className={styles.pick} role="tab" aria-selected={n === active} onClick={() => setActive(n)}>
            Terminal {n}
            <button
              type="button"
              className={styles.close}
              aria-label={`Close terminal ${n}`}
              onClick={(e) => (e.stopPropagation(), close(n))}
            >
              ×
            </button>
          </span>
        ))}
        <Button size="small" onClick={open}>
          + New terminal
        </Button>
        <span className={styles.spacer} />
        {recordings}
      </div>
      <div className={styles.area}>
        {terminals.map((n) => (
          <TerminalSession key={n} deviceId={device.id} deviceName={device.name} visible={n === active} />
        ))}
        {terminals.length === 0 && <p>No terminal open. “New terminal” opens one.</p>}
      </div>
    </>
  );
}
