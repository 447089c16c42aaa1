import type { DiskImage, DiskImageJob, RecoveryHardware, RecoveryMedium, RecoveryProgress } from '@xspectre/contracts';
import { durationText } from './backups-progress';

/**
 * Pure parts of the device page's Recovery tab and RECOVERY MODE banner (issue 16): the stick's
 * progress, the job's state, the restore dialog's disk mapping and typed confirmation.
 */

/** Device-reported text (models, serials, drivers) is hostile: shown as text, and bounded. */
export function bounded(text: string | null | undefined, max = 80): string {
  if (!text) return '—';
  // Control characters (the contract refuses them; belt and braces) become spaces.
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** "a1b2c3d4…e5f6" for a SHA-256 in a table (the full value is in the title). */
export function shortSha(sha: string): string {
  return sha.length > 16 ? `${sha.slice(0, 8)}…${sha.slice(-4)}` : sha;
}

/** The active medium (at most one), and the revoked ones newest first. */
export function splitMedia(media: readonly RecoveryMedium[]): { active: RecoveryMedium | null; revoked: RecoveryMedium[] } {
  const active = media.find((m) => m.state === 'active') ?? null;
  const revoked = media
    .filter((m) => m.state === 'revoked')
    .sort((a, b) => Date.parse(b.revokedAt ?? b.createdAt) - Date.parse(a.revokedAt ?? a.createdAt));
  return { active, revoked };
}

/** The medium whose stick is running now (RECOVERY MODE), if any. */
export function recoveryModeOf(media: readonly RecoveryMedium[] | undefined): RecoveryMedium | null {
  return media?.find((m) => m.state === 'active' && m.recoveryMode !== null) ?? null;
}

const PHASE_TEXT: Record<RecoveryProgress['phase'], string> = {
  reading: 'reading the disk',
  uploading: 'uploading the image',
  downloading: 'downloading the image',
  writing: 'writing the disk',
  verifying: 'verifying (reading back)',
};

/** Image phases vs restore phases ("verifying" is the restore's read-back). */
export function progressKind(phase: RecoveryProgress['phase']): 'image' | 'restore' {
  return phase === 'reading' || phase === 'uploading' ? 'image' : 'restore';
}

export interface RecoveryProgressView {
  /** 0–100, whole percent, for the bar. */
  percent: number;
  phase: string;
  bytes: string;
  rate: string;
  /** "about 3 m 10 s left", "almost done", or null without an estimate. */
  eta: string | null;
}

/** What the progress bar shows; `now` counts the stick's estimate down from `reportedAt`. */
export function recoveryProgressView(
  progress: RecoveryProgress,
  reportedAt: string | null,
  now: number,
  formatBytes: (n: number) => string,
): RecoveryProgressView {
  const fraction = progress.bytesTotal > 0 ? progress.bytesDone / progress.bytesTotal : 0;
  const percent = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
  const bytes =
    progress.bytesTotal > 0 ? `${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}` : formatBytes(progress.bytesDone);
  const rate = `${formatBytes(progress.rateBytesPerSecond)}/s`;
  let eta: string | null = null;
  if (progress.etaSeconds !== null) {
    const since = reportedAt ? Math.max(0, (now - Date.parse(reportedAt)) / 1000) : 0;
    const left = progress.etaSeconds - (Number.isFinite(since) ? since : 0);
    eta = left >= 1 ? `about ${durationText(left)} left` : 'almost done';
  }
  return { percent, phase: PHASE_TEXT[progress.phase], bytes, rate, eta };
}

const JOB_STATE_TEXT: Record<DiskImageJob['state'], string> = {
  requested: 'requested',
  'booting-recovery': 'rebooting into the recovery stick',
  imaging: 'imaging the disks',
  restoring: 'restoring the disks',
  rebooting: 'rebooting to the main disk',
  succeeded: 'succeeded',
  failed: 'failed',
};

export function jobStateText(state: DiskImageJob['state']): string {
  return JOB_STATE_TEXT[state];
}

export function jobTone(state: DiskImageJob['state']): 'ok' | 'bad' | 'info' {
  return state === 'succeeded' ? 'ok' : state === 'failed' ? 'bad' : 'info';
}

export function isOpenJob(job: DiskImageJob | null | undefined): boolean {
  return !!job && job.state !== 'succeeded' && job.state !== 'failed';
}

/** The disks the stick may write (never the stick itself). */
export function targetDisks(hardware: RecoveryHardware | null | undefined): RecoveryHardware['disks'] {
  return hardware?.disks.filter((d) => d.role === 'target') ?? [];
}

/** image disk → target disk as the dialog starts: the disk of the same name when the machine has it. */
export type DiskMapping = Record<string, string>;

export function defaultMapping(image: DiskImage, hardware: RecoveryHardware | null | undefined): DiskMapping {
  const targets = targetDisks(hardware);
  const mapping: DiskMapping = {};
  for (const disk of image.metadata.disks) {
    mapping[disk.name] = targets.some((t) => t.name === disk.name) ? disk.name : '';
  }
  return mapping;
}

export type RestoreCheck =
  | { ok: true; body: { confirmDeviceName: string; targets?: Array<{ imageDisk: string; target: string }> } }
  | { ok: false; errors: { confirm?: string; targets?: string } };

/**
 * The restore request, checked as the API will: the typed name must be the device's name exactly;
 * with a mapping (the stick reported its disks), every image disk onto a distinct target disk at
 * least as large. Without hardware the API maps each disk onto the disk of the same name.
 */
export function restoreRequestOf(
  deviceName: string,
  typed: string,
  image: DiskImage,
  hardware: RecoveryHardware | null | undefined,
  mapping: DiskMapping,
): RestoreCheck {
  const errors: { confirm?: string; targets?: string } = {};
  if (typed !== deviceName)
    errors.confirm = typed.trim() === '' ? 'type the device’s name to confirm' : 'does not match the device’s name exactly';
  const targets = targetDisks(hardware);
  let pairs: Array<{ imageDisk: string; target: string }> | undefined;
  if (targets.length > 0) {
    pairs = image.metadata.disks.map((d) => ({ imageDisk: d.name, target: mapping[d.name] ?? '' }));
    const missing = pairs.find((p) => !p.target);
    const used = new Set<string>();
    for (const p of pairs) {
      if (!p.target) continue;
      if (used.has(p.target)) errors.targets = `${p.target} is chosen twice: each target disk at most once`;
      used.add(p.target);
      const size = image.metadata.disks.find((d) => d.name === p.imageDisk)?.sizeBytes ?? 0;
      const target = targets.find((t) => t.name === p.target);
      if (target && target.sizeBytes < size) errors.targets ??= `${p.target} is smaller than the image’s ${p.imageDisk}`;
    }
    if (missing) errors.targets ??= `choose a target disk for ${missing.imageDisk}`;
  }
  if (errors.confirm || errors.targets) return { ok: false, errors };
  return { ok: true, body: { confirmDeviceName: typed, ...(pairs ? { targets: pairs } : {}) } };
}

/**
 * The "Take full image now" body: in RECOVERY MODE the operator ticks target disks (never the
 * stick); all of them ticked is the default (every target disk, `{}`), none is refused here.
 * Without hardware (not in recovery mode) every disk is imaged.
 */
export function takeRequestOf(
  hardware: RecoveryHardware | null | undefined,
  chosen: ReadonlySet<string>,
): { ok: true; body: { disks?: string[] } } | { ok: false; error: string } {
  const targets = targetDisks(hardware);
  if (targets.length === 0) return { ok: true, body: {} };
  const disks = targets.filter((d) => chosen.has(d.name)).map((d) => d.name);
  if (disks.length === 0) return { ok: false, error: 'choose at least one disk to image' };
  return { ok: true, body: disks.length === targets.length ? {} : { disks } };
}

/** The file name the API gives the personalised image (api/src/recovery/recovery-media.service.ts). */
export function imageFileName(medium: Pick<RecoveryMedium, 'id'>): string {
  return `xspectre-recovery-${medium.id.slice(0, 8)}.img`;
}

/** Lower-case hex of a digest. */
export function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}
