import type { Command, LiveCommand } from '@xspectre/contracts';
import type { CommandEntity } from './command.entity.js';

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function toCommandDto(c: CommandEntity): Command {
  return { ...toLiveCommand(c), stdout: c.stdout, stderr: c.stderr };
}

/** What a live `command.changed` carries: the command without its output (fetched with GET commands/:id). */
export function toLiveCommand(c: CommandEntity): LiveCommand {
  return {
    id: c.id,
    deviceId: c.deviceId,
    action: c.action,
    params: c.params,
    critical: c.critical,
    status: c.status,
    requestedBy: c.requestedBy,
    keyId: c.keyId,
    issuedAt: c.issuedAt.toISOString(),
    expiresAt: c.expiresAt.toISOString(),
    deliveredAt: iso(c.deliveredAt),
    startedAt: iso(c.startedAt),
    finishedAt: iso(c.finishedAt),
    exitCode: c.exitCode,
    stdoutTruncated: c.stdoutTruncated,
    stderrTruncated: c.stderrTruncated,
    reason: c.reason,
  };
}

/** The signed command exactly as stored: what the agent verifies. */
export function toSignedCommand(c: CommandEntity) {
  return {
    v: 1 as const,
    keyId: c.keyId,
    commandId: c.id,
    deviceId: c.deviceId,
    action: c.action,
    params: c.params,
    nonce: c.nonce,
    issuedAt: c.issuedAt.toISOString(),
    expiresAt: c.expiresAt.toISOString(),
    signature: c.signature,
  };
}
