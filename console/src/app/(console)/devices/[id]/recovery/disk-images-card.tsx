'use client';

import {
  BackupPolicySchema,
  DeviceDiskImagesSchema,
  DiskImageJobSchema,
  type DeviceDiskImages,
  type DiskImage,
  type DiskImageJob,
  type RecoveryHardware,
} from '@xspectre/contracts';
import { useEffect, useState } from 'react';
import { TimeAgo } from '../../../../../components/device-badges';
import { useCritical } from '../../../../../components/step-up';
import {
  Badge,
  Button,
  Card,
  ConfirmDialog,
  Empty,
  Field,
  FormDialog,
  KeyValues,
  Loading,
  ProblemView,
  uiStyles,
} from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import { bytes, dateTime } from '../../../../../lib/format';
import {
  bounded,
  defaultMapping,
  isOpenJob,
  jobStateText,
  jobTone,
  restoreRequestOf,
  shortSha,
  takeRequestOf,
  targetDisks,
  type DiskMapping,
} from '../../../../../lib/recovery';
import { durationText } from '../../../../../lib/backups-progress';
import { siteTimeText, takesImages, weeklySlotText } from '../../../../../lib/backups';
import { useResource } from '../../../../../lib/use-api';
import styles from './device-recovery.module.css';
import { RecoveryProgressBar, type RecoveryMediaState } from './recovery-mode';

/** An open job is read again this often (its state; the stick's progress also arrives live). */
const OPEN_JOB_REFRESH_MS = 10_000;

function JobView({ job, state }: { job: DiskImageJob; state: RecoveryMediaState }) {
  // The banner's (live) progress when it is this job's command; else what the job read carried.
  const live = state.progress && state.progress.progress.commandId === job.commands.recovery ? state.progress : null;
  const progress = live ?? (job.progress ? { progress: job.progress, at: job.updatedAt } : null);
  const open = isOpenJob(job);
  return (
    <div className={styles.layout} data-testid="disk-image-job" data-job-id={job.id} data-state={job.state}>
      <KeyValues
        rows={[
          [
            job.kind === 'image' ? 'Full image' : 'Restore',
            <span key="s" className={styles.actions}>
              <Badge tone={jobTone(job.state)}>
                <span data-testid="disk-image-job-state">{jobStateText(job.state)}</span>
              </Badge>
              <code>{job.imageName}</code>
            </span>,
          ],
          [
            'Requested',
            job.trigger === 'schedule' ? (
              <span key="r" data-testid="disk-image-job-trigger">
                {dateTime(job.createdAt)} by the weekly schedule
              </span>
            ) : (
              `${dateTime(job.createdAt)} by ${job.requestedBy}`
            ),
          ],
          [open ? 'Updated' : 'Finished', <TimeAgo key="u" iso={job.finishedAt ?? job.updatedAt} />],
        ]}
      />
      {job.error && (
        <p className={styles.error} data-testid="disk-image-job-error">
          {bounded(job.error, 500)}
        </p>
      )}
      {open && job.state === 'booting-recovery' && (
        <p className={styles.note}>
          Waiting for the recovery stick: the device reboots into it once (a failed boot falls back to the main disk) and registers in
          RECOVERY MODE.
        </p>
      )}
      {open && (job.state === 'imaging' || job.state === 'restoring') && progress && (
        <RecoveryProgressBar progress={progress} testId="disk-image-progress" />
      )}
    </div>
  );
}

/**
 * Full-disk images: the catalog (newest first), the open or last job with the stick's progress,
 * "Take full image now" and "Restore image…" (both critical: step-up; the restore also asks for
 * the device's name typed and, when the stick reported its disks, which disk goes where).
 */
export function DiskImagesCard({
  deviceId,
  deviceName,
  state,
  canAct,
  version,
}: {
  deviceId: string;
  deviceName: string;
  state: RecoveryMediaState;
  canAct: boolean;
  version: number;
}) {
  const images = useResource(`disk-images:${deviceId}:${version}`, (signal) =>
    api(`devices/${deviceId}/disk-images`, { schema: DeviceDiskImagesSchema, signal }),
  );
  const policy = useResource(`backup-policy:${deviceId}:${version}`, (signal) =>
    api(`devices/${deviceId}/backup-policy`, { schema: BackupPolicySchema, signal }),
  );
  const p = policy.data;
  const [taking, setTaking] = useState(false);
  const [restoring, setRestoring] = useState<DiskImage | null>(null);
  const open = isOpenJob(images.data?.job);
  const reload = images.reload;
  useEffect(() => {
    if (!open) return;
    const timer = setInterval(reload, OPEN_JOB_REFRESH_MS);
    return () => clearInterval(timer);
  }, [open, reload]);
  // A progress message for a command the job does not know yet (it just started): read again.
  const liveCommand = state.progress?.progress.commandId;
  const jobCommand = images.data?.job?.commands.recovery;
  const loaded = images.data !== undefined;
  useEffect(() => {
    if (liveCommand && loaded && liveCommand !== jobCommand) reload();
  }, [liveCommand, jobCommand, loaded, reload]);

  const hardware = state.mode?.recoveryMode?.hardware ?? null;
  const data: DeviceDiskImages | undefined = images.data;
  const started = (job: DiskImageJob) => {
    setTaking(false);
    setRestoring(null);
    images.mutate((d) => (d ? { ...d, job } : d));
    images.reload();
  };
  return (
    <Card
      title="Full-disk images"
      actions={
        canAct ? (
          <Button onClick={() => setTaking(true)} disabled={open} title={open ? 'a job is under way' : undefined}>
            Take full image now…
          </Button>
        ) : undefined
      }
    >
      {data === undefined ? (
        images.error ? (
          <ProblemView error={images.error} onRetry={images.reload} />
        ) : (
          <Loading label="Loading the images…" />
        )
      ) : (
        <div className={styles.layout}>
          {p && (
            <p className={uiStyles.muted} data-testid="disk-image-schedule">
              {takesImages(p.mode) ? (
                <>
                  Weekly image ({p.mode}): {weeklySlotText(p.imageWeekday, p.imageLocalTime)} {p.timeZone}, keep {p.keepImages}. Next:{' '}
                  <span data-testid="disk-image-next">
                    {p.nextImageAt ? siteTimeText(p.nextImageAt, p.timeZone) : 'unknown (site time zone)'}
                  </span>
                  {data.job ? ` · last job ${jobStateText(data.job.state)}` : ''}
                </>
              ) : (
                <>No weekly image: the backup policy is {p.mode} (FULL or HYBRID take one weekly).</>
              )}
            </p>
          )}
          {data.job && <JobView job={data.job} state={state} />}
          {data.images.length === 0 ? (
            <Empty>No full-disk image yet.</Empty>
          ) : (
            <table className={uiStyles.table} data-testid="disk-images">
              <thead>
                <tr>
                  <th>Image</th>
                  <th>Compressed</th>
                  <th>Raw</th>
                  <th>Disks</th>
                  <th>SHA-256</th>
                  <th>Took</th>
                  {canAct && <th />}
                </tr>
              </thead>
              <tbody>
                {data.images.map((image) => (
                  <tr key={image.imageName} data-image-name={image.imageName}>
                    <td className={styles.nowrap}>
                      <code>{image.imageName}</code>
                      <div className={uiStyles.faint}>
                        <TimeAgo iso={image.createdAt} />
                      </div>
                    </td>
                    <td className={styles.nowrap}>{bytes(image.compressedBytes)}</td>
                    <td className={styles.nowrap}>{bytes(image.rawBytes)}</td>
                    <td>
                      {image.metadata.disks.map((d) => (
                        <div key={d.name}>
                          <code>{d.name}</code> {bytes(d.sizeBytes)} <span className={uiStyles.faint}>{bounded(d.model, 40)}</span>
                        </div>
                      ))}
                    </td>
                    <td title={image.sha256Compressed}>
                      <code>{shortSha(image.sha256Compressed)}</code>
                    </td>
                    <td className={styles.nowrap}>{durationText(image.metadata.durationSeconds)}</td>
                    {canAct && (
                      <td>
                        {image.prunedAt ? (
                          <Badge tone="neutral" title={`pruned ${dateTime(image.prunedAt)}`}>
                            pruned
                          </Badge>
                        ) : (
                          <Button size="small" onClick={() => setRestoring(image)} disabled={open}>
                            Restore image…
                          </Button>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
      {canAct && taking && (
        <TakeDialog deviceId={deviceId} deviceName={deviceName} hardware={hardware} onClose={() => setTaking(false)} onStarted={started} />
      )}
      {canAct && restoring && (
        <RestoreImageDialog
          deviceId={deviceId}
          deviceName={deviceName}
          image={restoring}
          hardware={hardware}
          onClose={() => setRestoring(null)}
          onStarted={started}
        />
      )}
    </Card>
  );
}

function TakeDialog({
  deviceId,
  deviceName,
  hardware,
  onClose,
  onStarted,
}: {
  deviceId: string;
  deviceName: string;
  hardware: RecoveryHardware | null;
  onClose: () => void;
  onStarted: (job: DiskImageJob) => void;
}) {
  const critical = useCritical();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const targets = targetDisks(hardware);
  const [chosen, setChosen] = useState<ReadonlySet<string>>(() => new Set(targets.map((d) => d.name)));
  const [pickError, setPickError] = useState<string | null>(null);
  async function take() {
    const checked = takeRequestOf(hardware, chosen);
    if (!checked.ok) {
      setPickError(checked.error);
      return;
    }
    setPickError(null);
    setBusy(true);
    setError(null);
    try {
      onStarted(
        await critical(() => api(`devices/${deviceId}/disk-images`, { method: 'POST', body: checked.body, schema: DiskImageJobSchema })),
      );
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  function toggle(name: string, on: boolean) {
    setChosen((previous) => {
      const next = new Set(previous);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
  }
  return (
    <ConfirmDialog
      open
      title={`Take a full image of ${deviceName}?`}
      confirmLabel="Take full image"
      busy={busy}
      onCancel={onClose}
      onConfirm={() => void take()}
    >
      {hardware ? (
        <>
          <p>The device is in RECOVERY MODE: the stick images the disks ticked below now, then reboots back to the main disk.</p>
          <fieldset data-testid="take-disk-picker">
            <legend>Disks to image</legend>
            {hardware.disks.map((d) =>
              d.role === 'target' ? (
                <label key={d.name} style={{ display: 'block' }}>
                  <input type="checkbox" checked={chosen.has(d.name)} onChange={(e) => toggle(d.name, e.target.checked)} /> {d.name} (
                  {bytes(d.sizeBytes)}
                  {d.model ? `, ${bounded(d.model, 60)}` : ''})
                </label>
              ) : (
                <label key={d.name} style={{ display: 'block' }} className={uiStyles.muted}>
                  <input type="checkbox" checked={false} disabled /> {d.name}: the recovery stick (never imaged)
                </label>
              ),
            )}
          </fieldset>
          {pickError ? (
            <p className={styles.error} data-testid="take-disk-error">
              {pickError}
            </p>
          ) : null}
        </>
      ) : (
        <>
          <p>
            <strong>The device reboots</strong> into its recovery stick (once: a failed boot falls back to the main disk), reads every disk
            block by block, compresses and uploads the image to the backup server, then reboots back. Its services are down meanwhile.
          </p>
          <p className={uiStyles.muted} data-testid="take-all-disks-note">
            Every disk is imaged (the stick itself never is). Choosing disks needs the device in RECOVERY MODE: its disks are known once the
            stick has registered.
          </p>
        </>
      )}
      <p className={uiStyles.muted}>A critical action: you confirm it with a fresh authenticator code.</p>
      {error ? <ProblemView error={error} /> : null}
    </ConfirmDialog>
  );
}

function RestoreImageDialog({
  deviceId,
  deviceName,
  image,
  hardware,
  onClose,
  onStarted,
}: {
  deviceId: string;
  deviceName: string;
  image: DiskImage;
  hardware: RecoveryHardware | null;
  onClose: () => void;
  onStarted: (job: DiskImageJob) => void;
}) {
  const critical = useCritical();
  const [typed, setTyped] = useState('');
  const [mapping, setMapping] = useState<DiskMapping>(() => defaultMapping(image, hardware));
  const [errors, setErrors] = useState<{ confirm?: string; targets?: string }>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const targets = targetDisks(hardware);

  async function submit() {
    setError(null);
    const checked = restoreRequestOf(deviceName, typed, image, hardware, mapping);
    setErrors(checked.ok ? {} : checked.errors);
    if (!checked.ok) return;
    setBusy(true);
    try {
      const body = checked.body;
      onStarted(
        await critical(() =>
          api(`devices/${deviceId}/disk-images/${encodeURIComponent(image.imageName)}/restore`, {
            method: 'POST',
            body,
            schema: DiskImageJobSchema,
          }),
        ),
      );
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <FormDialog
      open
      title={`Restore ${image.imageName} onto ${deviceName}`}
      submitLabel="Restore image"
      busy={busy}
      error={error}
      onSubmit={submit}
      onCancel={onClose}
    >
      <p style={{ margin: 0 }}>
        <strong>Every byte of the chosen disks is overwritten</strong> with the image taken {dateTime(image.createdAt)} (
        {bytes(image.rawBytes)} raw).{' '}
        {hardware ? 'The device is in RECOVERY MODE: the stick starts at once.' : 'The device reboots into its recovery stick first.'} It
        downloads the image, checks its SHA-256 ({shortSha(image.sha256Compressed)}), writes, reads back and reboots.
      </p>
      {targets.length > 0 ? (
        <fieldset className={styles.mapping} data-testid="restore-mapping">
          <legend>Which disk of this machine gets each disk of the image</legend>
          {image.metadata.disks.map((d) => (
            <Field key={d.name} label={`Image disk ${d.name} (${bytes(d.sizeBytes)})`}>
              <select value={mapping[d.name] ?? ''} onChange={(e) => setMapping((m) => ({ ...m, [d.name]: e.target.value }))}>
                <option value="">— choose —</option>
                {targets.map((t) => (
                  <option key={t.name} value={t.name}>
                    {t.name} · {bytes(t.sizeBytes)} · {bounded(t.model, 40)}
                  </option>
                ))}
              </select>
            </Field>
          ))}
          {errors.targets && <span className={styles.error}>{errors.targets}</span>}
        </fieldset>
      ) : (
        <p className={uiStyles.muted} style={{ margin: 0 }}>
          Each disk of the image goes onto the disk of the same name ({image.metadata.disks.map((d) => d.name).join(', ')}); the API checks
          the sizes when the stick reports its disks.
        </p>
      )}
      <Field label={`Type the device’s name (${deviceName}) to confirm`} error={errors.confirm}>
        <input value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} maxLength={200} />
      </Field>
      <p className={uiStyles.muted} style={{ margin: 0 }}>
        A critical action: you confirm it with a fresh authenticator code.
      </p>
    </FormDialog>
  );
}
