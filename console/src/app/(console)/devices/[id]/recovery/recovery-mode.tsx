'use client';

import { RecoveryMediaListSchema, type RecoveryMedium, type RecoveryProgress } from '@xspectre/contracts';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { TimeAgo } from '../../../../../components/device-badges';
import { UsageBar } from '../../../../../components/usage-bar';
import { uiStyles } from '../../../../../components/ui';
import { useSession } from '../../../../../lib/session';
import { api } from '../../../../../lib/api-client';
import { bytes, dateTime } from '../../../../../lib/format';
import { bounded, progressKind, recoveryModeOf, recoveryProgressView } from '../../../../../lib/recovery';
import { useResource, type Resource } from '../../../../../lib/use-api';
import { useLive } from '../../../../../lib/use-live';
import { useNow } from '../../../../../lib/use-now';
import styles from './device-recovery.module.css';

/** While a stick reports progress, its media are read again this often (the live channel moves it in between). */
const PROGRESS_REFRESH_MS = 10_000;

export interface LiveRecoveryProgress {
  progress: RecoveryProgress;
  at: string;
}

export interface RecoveryMediaState {
  media: Resource<{ media: RecoveryMedium[] }>;
  /** The medium whose stick runs now (RECOVERY MODE), or null. */
  mode: RecoveryMedium | null;
  /** The newest progress: a live `recovery.progress` message or the stored one, with when it was reported or read. */
  progress: LiveRecoveryProgress | null;
}

/**
 * A device's recovery media, kept live: read again on every device event the frame counts in
 * `version` (`device.recovery-mode`, `…-ended`, `disk_image.*`), moved by `recovery.progress`
 * messages (the frame subscribes to the device), and read every 10 s while a stick reports progress.
 */
export function useRecoveryMedia(deviceId: string, version: number): RecoveryMediaState {
  const media = useResource(`recovery-media:${deviceId}:${version}`, (signal) =>
    api(`devices/${deviceId}/recovery-media`, { schema: RecoveryMediaListSchema, signal }),
  );
  const [live, setLive] = useState<(LiveRecoveryProgress & { mediumId: string; receivedAt: number }) | null>(null);
  const [readAt, setReadAt] = useState<{ iso: string; ms: number } | null>(null);
  const mode = recoveryModeOf(media.data?.media);
  const stored = mode?.recoveryMode?.progress ?? null;

  useEffect(() => {
    if (media.data) setReadAt({ iso: new Date().toISOString(), ms: Date.now() });
  }, [media.data]);
  useLive((message) => {
    if (message.type !== 'recovery.progress' || message.deviceId !== deviceId) return;
    setLive({ mediumId: message.mediumId, progress: message.progress, at: message.at, receivedAt: Date.now() });
  });
  const reload = media.reload;
  const running = stored !== null || (live !== null && mode !== null && live.mediumId === mode.id);
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(reload, PROGRESS_REFRESH_MS);
    return () => clearInterval(timer);
  }, [running, reload]);

  // A live message received after the last read is the newest; otherwise what the read stored (none: nothing runs).
  let progress: LiveRecoveryProgress | null = null;
  if (live && mode && live.mediumId === mode.id && (!readAt || live.receivedAt >= readAt.ms)) progress = live;
  else if (stored) progress = { progress: stored, at: readAt?.iso ?? new Date().toISOString() };
  return { media, mode, progress };
}

/** Bar, percent, phase, bytes, rate and the time left of an image or restore the stick runs. */
export function RecoveryProgressBar({ progress, testId = 'recovery-progress' }: { progress: LiveRecoveryProgress; testId?: string }) {
  const now = useNow();
  const view = recoveryProgressView(progress.progress, progress.at, now, bytes);
  const what = progressKind(progress.progress.phase) === 'image' ? 'Imaging' : 'Restoring';
  return (
    <div className={styles.progress} data-testid={testId} data-command-id={progress.progress.commandId}>
      <div className={styles.progressHead}>
        <strong>{what}</strong>
        <strong data-testid={`${testId}-percent`}>{view.percent} %</strong>
        <span className={uiStyles.muted} data-testid={`${testId}-phase`}>
          {view.phase}
        </span>
        <span data-testid={`${testId}-bytes`}>{view.bytes}</span>
        <span className={uiStyles.muted} data-testid={`${testId}-rate`}>
          {view.rate}
        </span>
        {view.eta && <span className={uiStyles.muted}>{view.eta}</span>}
      </div>
      <UsageBar fraction={view.percent / 100} label={`${what}: ${view.percent} %`} testId={`${testId}-bar`} />
    </div>
  );
}

/** The RECOVERY MODE banner every tab of the device shows while its stick runs. */
export function RecoveryModeBanner({ deviceId, state }: { deviceId: string; state: RecoveryMediaState }) {
  const { mode, progress } = state;
  const { me } = useSession();
  if (!mode?.recoveryMode) return null;
  // A root shell on the stick (through the terminal path, target recovery): Super Admins, when the stick's sshd registered.
  const shell = me.role === 'super_admin' && mode.recoveryMode.shellHostKeyFingerprint;
  const hw = mode.recoveryMode.hardware;
  return (
    <div className={styles.banner} role="status" data-testid="recovery-mode-banner">
      <div className={styles.bannerHead}>
        <strong>RECOVERY MODE</strong>
        <span>
          the recovery stick runs since {dateTime(mode.recoveryMode.registeredAt)} (<TimeAgo iso={mode.recoveryMode.registeredAt} />
          ); the device&apos;s own agent is not running.
        </span>
        <Link href={`/devices/${deviceId}/recovery`}>Recovery tab →</Link>
        {shell && (
          <Link
            href={`/devices/${deviceId}/terminal?target=recovery`}
            className={`${uiStyles.button} ${uiStyles.small}`}
            data-testid="recovery-shell"
            title={`root on the recovery stick; its host key for this boot ${mode.recoveryMode.shellHostKeyFingerprint}`}
          >
            Recovery shell
          </Link>
        )}
      </div>
      <div className={styles.bannerFacts}>
        <span data-testid="recovery-firmware">
          firmware <strong>{hw.firmware.toUpperCase()}</strong>
        </span>
        <span>
          {hw.cpus} CPU · {bytes(hw.memoryBytes)} RAM{hw.cpuModel ? ` · ${bounded(hw.cpuModel, 60)}` : ''}
        </span>
        <span>overlay {mode.overlayAddress}</span>
      </div>
      <div className={styles.bannerLists}>
        <ul className={styles.facts} data-testid="recovery-disks" aria-label="Disks">
          {hw.disks.map((d) => (
            <li key={d.name} data-disk={d.name} data-role={d.role}>
              <code>{d.name}</code> {bytes(d.sizeBytes)} {bounded(d.model, 48)}
              {d.serial ? <span className={uiStyles.faint}> · {bounded(d.serial, 32)}</span> : null}{' '}
              <span className={d.role === 'target' ? styles.roleTarget : styles.roleStick}>
                {d.role === 'target' ? 'target disk' : 'the recovery stick (never written)'}
              </span>
            </li>
          ))}
        </ul>
        <ul className={styles.facts} data-testid="recovery-nics" aria-label="Network interfaces">
          {hw.nics.map((n) => (
            <li key={n.name}>
              <code>{n.name}</code> {n.mac} {n.driver ? <span className={uiStyles.faint}>{bounded(n.driver, 32)}</span> : null}
            </li>
          ))}
        </ul>
      </div>
      {progress && <RecoveryProgressBar progress={progress} testId="recovery-mode-progress" />}
    </div>
  );
}
