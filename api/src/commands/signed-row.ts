import { randomBytes, randomUUID } from 'node:crypto';
import { COMMAND_TTL_MS, isCriticalCommandAction, type CommandAction, type JsonObject } from '@xspectre/contracts';
import { signCommand } from '@xspectre/contracts/command-signature';
import type { SigningKey } from '../keys/key-store.js';
import type { CommandEntity } from './command.entity.js';
import type { CommandsRepository } from './commands.repository.js';

type NewCommandRow = Parameters<CommandsRepository['insert']>[0];

/**
 * The row of a newly signed command: envelope fields as signed (id, nonce, issue and expiry
 * time, the key's id), queued, requested by `by`: an operator's (CommandsService.insertSigned)
 * or the API's own (a key announcement).
 */
export function signedCommandRow(
  key: SigningKey,
  deviceId: string,
  action: CommandAction,
  params: JsonObject,
  by: { userId: string | null; email: string },
): NewCommandRow {
  const issuedAt = new Date();
  const signed = signCommand(key.privateKey, {
    v: 1,
    keyId: key.keyId,
    commandId: randomUUID(),
    deviceId,
    action,
    params,
    nonce: randomBytes(16).toString('hex'),
    issuedAt: issuedAt.toISOString(),
    expiresAt: new Date(issuedAt.getTime() + COMMAND_TTL_MS).toISOString(),
  });
  return {
    id: signed.commandId,
    deviceId,
    action,
    params: signed.params as CommandEntity['params'],
    critical: isCriticalCommandAction(action),
    keyId: signed.keyId,
    nonce: signed.nonce,
    issuedAt,
    expiresAt: new Date(signed.expiresAt),
    signature: signed.signature,
    status: 'queued',
    requestedByUserId: by.userId,
    requestedBy: by.email,
  };
}
