import type { DiskImage, DiskImageFleetRow, DiskImageJob, RecoveryProgress } from '@xspectre/contracts';
import type { DiskImageEntity } from './disk-image.entity.js';
import type { DiskImageJobEntity } from './disk-image-job.entity.js';
import type { DiskImageFleetRecord } from './disk-images.repository.js';

export function toDiskImageDto(row: DiskImageEntity): DiskImage {
  return {
    deviceId: row.deviceId,
    imageName: row.imageName,
    compressedBytes: Number(row.compressedBytes),
    sha256Compressed: row.sha256Compressed,
    rawBytes: Number(row.rawBytes),
    metadata: row.metadata,
    createdAt: row.createdAt.toISOString(),
    prunedAt: row.prunedAt?.toISOString() ?? null,
  };
}

export function toDiskImageJobDto(row: DiskImageJobEntity, progress: RecoveryProgress | null): DiskImageJob {
  return {
    id: row.id,
    deviceId: row.deviceId,
    kind: row.kind,
    state: row.state,
    imageName: row.imageName,
    params: row.params,
    error: row.error,
    requestedBy: row.requestedBy,
    trigger: row.trigger,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    commands: { rebootToRecovery: row.rebootCommandId, recovery: row.recoveryCommandId, reboot: row.returnCommandId },
    // Only the progress of this job's own recovery command, while it runs.
    progress:
      progress && progress.commandId === row.recoveryCommandId && (row.state === 'imaging' || row.state === 'restoring') ? progress : null,
  };
}

export function toFleetRowDto(r: DiskImageFleetRecord, now: Date): DiskImageFleetRow {
  const at = r.last_image_at ? new Date(r.last_image_at) : null;
  return {
    deviceId: r.device_id,
    deviceName: r.device_name,
    organizationId: r.organization_id,
    siteId: r.site_id,
    lastImageName: r.last_image_name,
    lastImageAt: at?.toISOString() ?? null,
    lastImageAgeSeconds: at ? Math.max(0, Math.floor((now.getTime() - at.getTime()) / 1000)) : null,
    lastImageCompressedBytes: r.last_compressed_bytes === null ? null : Number(r.last_compressed_bytes),
    lastImageRawBytes: r.last_raw_bytes === null ? null : Number(r.last_raw_bytes),
    images: r.images,
    openJob:
      r.open_job_id && r.open_job_kind && r.open_job_state && r.open_job_created_at
        ? {
            id: r.open_job_id,
            kind: r.open_job_kind as DiskImageJob['kind'],
            state: r.open_job_state as DiskImageJob['state'],
            createdAt: new Date(r.open_job_created_at).toISOString(),
          }
        : null,
    lastJobFailed: r.last_job_state === 'failed',
    nextImageAt: r.next_image_at ? new Date(r.next_image_at).toISOString() : null,
    overdue: r.overdue,
  };
}
