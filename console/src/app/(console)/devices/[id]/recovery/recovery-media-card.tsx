'use client';

import { ProblemSchema, RecoveryMediumCreatedSchema, RecoveryMediumSchema, type RecoveryMedium } from '@xspectre/contracts';
import { useState } from 'react';
import { TimeAgo } from '../../../../../components/device-badges';
import { useCritical } from '../../../../../components/step-up';
import {
  Badge,
  Button,
  Card,
  ConfirmDialog,
  CopyRow,
  Empty,
  KeyValues,
  Loading,
  ProblemView,
  uiStyles,
} from '../../../../../components/ui';
import { API_BASE, ApiError, api, refreshSession } from '../../../../../lib/api-client';
import { bytes, countdown, dateTime } from '../../../../../lib/format';
import { hex, imageFileName, shortSha, splitMedia } from '../../../../../lib/recovery';
import { useNow } from '../../../../../lib/use-now';
import styles from './device-recovery.module.css';
import type { RecoveryMediaState } from './recovery-mode';

/** The personalised image as a Blob (a critical, audited route: the caller runs it through useCritical). */
async function fetchImage(path: string): Promise<{ blob: Blob; sha256: string | null }> {
  const get = () => fetch(API_BASE + path, { credentials: 'same-origin', cache: 'no-store' });
  let response = await get();
  if (response.status === 401 && (await refreshSession())) response = await get();
  if (!response.ok) {
    const text = await response.text();
    let problem;
    try {
      problem = ProblemSchema.parse(JSON.parse(text));
    } catch {
      problem = {
        type: 'about:blank',
        title: 'Download failed',
        status: response.status,
        detail: text.slice(0, 300),
        code: `HTTP_${response.status}`,
      };
    }
    throw new ApiError(response.status, problem);
  }
  return { blob: await response.blob(), sha256: response.headers.get('x-image-sha256') };
}

function save(name: string, blob: Blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

type Dialog = 'create' | 'revoke' | null;

/**
 * Recovery media: the active stick's identity and personalised image (SHA-256, size, download
 * window), "Create recovery media" (replaces the active one), "Download image" while the window
 * lasts (its SHA-256 checked in the browser when it can), "Revoke", and the revoked ones.
 * Creating, downloading and revoking are critical (step-up).
 */
export function RecoveryMediaCard({
  deviceId,
  deviceName,
  state,
  canAct,
  onChanged,
}: {
  deviceId: string;
  deviceName: string;
  state: RecoveryMediaState;
  canAct: boolean;
  onChanged: () => void;
}) {
  const critical = useCritical();
  const now = useNow();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [download, setDownload] = useState<{ mediumId: string; state: 'busy' | 'verified' | 'saved' | 'mismatch'; sha?: string } | null>(
    null,
  );
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const { media } = state;

  async function create() {
    setBusy(true);
    setError(null);
    try {
      const created = await critical(() =>
        api(`devices/${deviceId}/recovery-media`, { method: 'POST', body: {}, schema: RecoveryMediumCreatedSchema }),
      );
      media.mutate((m) => ({ media: [created.medium, ...(m?.media ?? []).filter((x) => x.id !== created.medium.id)] }));
      setDialog(null);
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function revoke(medium: RecoveryMedium) {
    setBusy(true);
    setError(null);
    try {
      await critical(() => api(`devices/${deviceId}/recovery-media/${medium.id}`, { method: 'DELETE', schema: RecoveryMediumSchema }));
      setDialog(null);
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function downloadImage(medium: RecoveryMedium) {
    setDownloadError(null);
    setDownload({ mediumId: medium.id, state: 'busy' });
    try {
      const { blob } = await critical(() => fetchImage(`devices/${deviceId}/recovery-media/${medium.id}/image`));
      let verdict: 'verified' | 'saved' | 'mismatch' = 'saved';
      let sha: string | undefined;
      // SubtleCrypto exists in secure contexts only (https, localhost); else the operator compares by hand.
      if (globalThis.crypto?.subtle) {
        sha = hex(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
        verdict = sha === medium.imageSha256 ? 'verified' : 'mismatch';
      }
      if (verdict !== 'mismatch') save(imageFileName(medium), blob);
      setDownload({ mediumId: medium.id, state: verdict, sha });
    } catch (e) {
      setDownload(null);
      setDownloadError(e);
    }
  }

  if (media.data === undefined) {
    return <Card title="Recovery media">{media.error ? <ProblemView error={media.error} onRetry={media.reload} /> : <Loading />}</Card>;
  }
  const { active, revoked } = splitMedia(media.data.media);
  return (
    <Card
      title="Recovery media"
      actions={
        canAct ? (
          <Button onClick={() => setDialog('create')} variant={active ? 'default' : 'primary'}>
            {active ? 'Create new recovery media…' : 'Create recovery media…'}
          </Button>
        ) : undefined
      }
    >
      {!active ? (
        <Empty>
          No recovery stick for this device.{' '}
          {canAct ? 'Create recovery media, flash the image onto a USB stick and leave it in the device’s internal USB port.' : ''}
        </Empty>
      ) : (
        <div className={styles.layout} data-testid="recovery-medium" data-medium-id={active.id}>
          <KeyValues
            rows={[
              [
                'State',
                <span key="s" className={styles.actions}>
                  <Badge tone="ok">active</Badge>
                  {active.recoveryMode ? <Badge tone="warn">running now (RECOVERY MODE)</Badge> : null}
                </span>,
              ],
              ['Overlay address', <code key="o">{active.overlayAddress}</code>],
              ['Created', `${dateTime(active.createdAt)} by ${active.createdBy}`],
              ['Last heard', <TimeAgo key="l" iso={active.lastSeenAt} never="never (the stick has not booted yet)" />],
              [
                'Image size',
                <span key="z">
                  {bytes(active.imageSizeBytes)} ({active.imageSizeBytes.toLocaleString('en-US')} bytes)
                </span>,
              ],
              [
                'Image SHA-256',
                <span key="h" className={styles.sha} data-testid="recovery-image-sha256">
                  {active.imageSha256}
                </span>,
              ],
              [
                'Download',
                active.downloadable && active.downloadExpiresAt ? (
                  <span key="d" data-testid="recovery-download-window">
                    until {dateTime(active.downloadExpiresAt)} (in {countdown(active.downloadExpiresAt, now)}); then the image is deleted
                  </span>
                ) : (
                  <span key="d" className={uiStyles.muted} data-testid="recovery-download-window">
                    no longer downloadable (the image holds the stick&apos;s secrets and was deleted): create a new medium for a new stick
                  </span>
                ),
              ],
            ]}
          />
          {canAct && (
            <div className={styles.actions}>
              {active.downloadable && (
                <Button variant="primary" onClick={() => void downloadImage(active)} disabled={download?.state === 'busy'}>
                  {download?.mediumId === active.id && download.state === 'busy' ? 'Downloading…' : 'Download image'}
                </Button>
              )}
              <Button variant="danger" onClick={() => setDialog('revoke')}>
                Revoke…
              </Button>
            </div>
          )}
          {download?.mediumId === active.id && download.state !== 'busy' && (
            <p className={download.state === 'mismatch' ? styles.error : styles.note} data-testid="recovery-download-result">
              {download.state === 'verified'
                ? `Saved as ${imageFileName(active)}; its SHA-256 matches (checked in this browser).`
                : download.state === 'mismatch'
                  ? `The downloaded file's SHA-256 is ${download.sha ?? '?'}, not the one above: it was not saved. Download it again.`
                  : `Saved as ${imageFileName(active)}. Compare its SHA-256 with the one above before flashing.`}
            </p>
          )}
          {downloadError ? <ProblemView error={downloadError} /> : null}
          {active.downloadable && (
            <div>
              <strong>Flashing the stick</strong>
              {/* The API's steps (GET recovery-media) name the file, its SHA-256 and the window's end. */}
              <ol className={styles.steps} data-testid="recovery-flashing-steps">
                {(active.flashingSteps ?? []).map((s, i) => (
                  <li key={i}>{s}</li>
                ))}
              </ol>
              <CopyRow text={active.imageSha256} label="Image SHA-256" />
            </div>
          )}
        </div>
      )}
      {revoked.length > 0 && (
        <details style={{ marginTop: 12 }}>
          <summary>Revoked media ({revoked.length})</summary>
          <table className={uiStyles.table} data-testid="recovery-media-history">
            <thead>
              <tr>
                <th>Created</th>
                <th>Revoked</th>
                <th>Overlay address</th>
                <th>Image SHA-256</th>
              </tr>
            </thead>
            <tbody>
              {revoked.slice(0, 20).map((m) => (
                <tr key={m.id} data-medium-id={m.id}>
                  <td className={styles.nowrap}>
                    {dateTime(m.createdAt)} <span className={uiStyles.faint}>by {m.createdBy}</span>
                  </td>
                  <td className={styles.nowrap}>
                    {dateTime(m.revokedAt)} <span className={uiStyles.faint}>by {m.revokedBy ?? '—'}</span>
                  </td>
                  <td>
                    <code>{m.overlayAddress}</code>
                  </td>
                  <td title={m.imageSha256}>
                    <code>{shortSha(m.imageSha256)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      <ConfirmDialog
        open={dialog === 'create'}
        title={`Create recovery media for ${deviceName}?`}
        confirmLabel="Create recovery media"
        busy={busy}
        onCancel={() => {
          setDialog(null);
          setError(null);
        }}
        onConfirm={() => void create()}
      >
        <p>
          The API issues the stick its own WireGuard key, overlay address and credential (never the device&apos;s) and writes them into a
          personalised image you download once and flash onto a USB stick.
        </p>
        {active && (
          <p>
            <strong>The current medium is revoked:</strong> its stick stops working at once (created {dateTime(active.createdAt)}).
          </p>
        )}
        <p className={uiStyles.muted}>A critical action: you confirm it with a fresh authenticator code.</p>
        {error ? <ProblemView error={error} /> : null}
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === 'revoke' && active !== null}
        title="Revoke this recovery medium?"
        confirmLabel="Revoke the stick"
        danger
        busy={busy}
        onCancel={() => {
          setDialog(null);
          setError(null);
        }}
        onConfirm={() => active && void revoke(active)}
      >
        <p>
          The stick of <strong>{deviceName}</strong> loses its tunnel peer and credential at once; its image is deleted. A running image or
          restore is cut off. Do this when a stick is lost or replaced.
        </p>
        {error ? <ProblemView error={error} /> : null}
      </ConfirmDialog>
    </Card>
  );
}
