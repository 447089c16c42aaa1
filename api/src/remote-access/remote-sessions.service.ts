import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Injectable } from '@nestjs/common';
import type { ListRemoteSessionsQuery, RemoteSession, RemoteSessionEndReason, RemoteSessionKind } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { AuditService } from '../audit/audit.service.js';
import type { RemoteSessionEntity } from './remote-session.entity.js';
import { RemoteSessionsRepository } from './remote-sessions.repository.js';

/** This process, as remote_sessions.instance_id names it: which instance holds a session's SSH connection. */
export const INSTANCE_ID = `${hostname().slice(0, 100)}:${process.pid}`;

export interface OpenedSession {
  id: string;
  kind: RemoteSessionKind;
  device: { id: string; name: string };
  operator: { userId: string; email: string; authSessionId: string };
  certificateKeyId: string;
  recordingFile: string | null;
  inputRecorded: boolean;
  /** A recovery shell: the stick and the boot it ran in (in both audit rows). */
  recovery?: { mediumId: string; bootId: string };
}

/**
 * The record of every terminal and file session: a row when the SSH session starts and an audit
 * row (`remote_session.start`), then at the end the reason and, for terminals, the recording's size
 * and SHA-256, sealed into the closing audit row (`remote_session.end`). Both audit rows are
 * written in transactions of their own: a session is not part of any request's unit of work.
 */
@Injectable()
export class RemoteSessionsService {
  constructor(
    private readonly sessions: RemoteSessionsRepository,
    private readonly audit: AuditService,
  ) {}

  /**
   * Closes the rows a previous run of this instance id left open (same host, same pid: a container
   * restarted). Called by the API's session registry at boot, never by the worker, which holds no sessions.
   */
  closeAbandonedOfThisInstance(at = new Date()): Promise<number> {
    return this.sessions.closeAbandoned(INSTANCE_ID, at);
  }

  newSessionId(): string {
    return randomUUID();
  }

  async start(session: OpenedSession, at = new Date()): Promise<void> {
    await this.sessions.insert({
      id: session.id,
      kind: session.kind,
      deviceId: session.device.id,
      deviceName: session.device.name,
      userId: session.operator.userId,
      userEmail: session.operator.email,
      authSessionId: session.operator.authSessionId,
      instanceId: INSTANCE_ID,
      certificateKeyId: session.certificateKeyId,
      openedAt: at,
      recordingFile: session.recordingFile,
      inputRecorded: session.inputRecorded,
    });
    await this.audit.appendDetached({
      action: 'remote_session.start',
      resourceType: 'device',
      resourceId: session.device.id,
      result: 'success',
      userId: session.operator.userId,
      userEmail: session.operator.email,
      details: {
        sessionId: session.id,
        kind: session.kind,
        certificateKeyId: session.certificateKeyId,
        instance: INSTANCE_ID,
        target: session.recovery ? 'recovery' : 'device',
        ...(session.recovery ? { mediumId: session.recovery.mediumId, bootId: session.recovery.bootId } : {}),
      },
    });
  }

  /** Ends a session once (later calls do nothing); the recording's hash goes into the closing audit row. */
  async end(
    session: Pick<OpenedSession, 'id' | 'kind' | 'device' | 'operator' | 'recovery'>,
    reason: RemoteSessionEndReason,
    recording: { bytes: number; sha256: string } | null = null,
    at = new Date(),
  ): Promise<void> {
    const closed = await this.sessions.close(session.id, {
      closedAt: at,
      endReason: reason,
      recordingBytes: String(recording?.bytes ?? 0),
      recordingSha256: recording?.sha256 ?? null,
    });
    if (!closed) return;
    await this.audit.appendDetached({
      action: 'remote_session.end',
      resourceType: 'device',
      resourceId: session.device.id,
      result: 'success',
      userId: session.operator.userId,
      userEmail: session.operator.email,
      details: {
        sessionId: session.id,
        kind: session.kind,
        reason,
        ...(session.recovery ? { target: 'recovery', mediumId: session.recovery.mediumId, bootId: session.recovery.bootId } : {}),
        ...(recording ? { recordingBytes: recording.bytes, recordingSha256: recording.sha256 } : {}),
      },
    });
  }

  async list(query: ListRemoteSessionsQuery): Promise<{ items: RemoteSession[]; total: number; limit: number; offset: number }> {
    const { items, total } = await this.sessions.list(query);
    return { items: items.map(toRemoteSessionDto), total, limit: query.limit, offset: query.offset };
  }

  async require(id: string): Promise<RemoteSessionEntity> {
    const row = await this.sessions.findById(id);
    if (!row) throw new AppError('REMOTE_SESSION_NOT_FOUND', `no remote session with id ${id}`);
    return row;
  }

  expiredRecordings(before: Date, limit: number): Promise<RemoteSessionEntity[]> {
    return this.sessions.expiredRecordings(before, limit);
  }

  forgetRecordingFile(id: string): Promise<void> {
    return this.sessions.forgetRecordingFile(id);
  }
}

export function toRemoteSessionDto(row: RemoteSessionEntity): RemoteSession {
  return {
    id: row.id,
    kind: row.kind,
    deviceId: row.deviceId,
    deviceName: row.deviceName,
    userId: row.userId,
    userEmail: row.userEmail,
    openedAt: row.openedAt.toISOString(),
    closedAt: row.closedAt?.toISOString() ?? null,
    endReason: row.endReason,
    certificateKeyId: row.certificateKeyId,
    recording:
      row.kind === 'terminal' ? { bytes: Number(row.recordingBytes), sha256: row.recordingSha256, inputRecorded: row.inputRecorded } : null,
  };
}
