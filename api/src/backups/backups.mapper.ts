import type { BackupRun } from '@xspectre/contracts';
import type { BackupRunEntity } from './backup-run.entity.js';

export function toBackupRunDto(r: BackupRunEntity): BackupRun {
  return {
    id: r.id,
    deviceId: r.deviceId,
    kind: r.kind,
    slotDate: r.slotDate,
    dueAt: r.dueAt.toISOString(),
    status: r.status,
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    error: r.error,
    createdAt: r.createdAt.toISOString(),
    commandId: r.commandId,
    requestedBy: r.requestedBy,
    request: r.request,
    summary: r.summary,
    progress: r.progress,
    progressAt: r.progressAt?.toISOString() ?? null,
    check: r.check,
  };
}
