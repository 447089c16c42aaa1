import { COMMAND_ACTION_PARAMS, SignedCommandSchema, type CommandEnvelope } from '@xspectre/contracts';
import {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  verifyCommand,
  type CommandRejection,
  type PinnedCommandKey,
} from '@xspectre/contracts/command-signature';
import type { AgentConfig } from '../config.js';
import type { PolicyDecision } from './policy.js';
import type { NonceCheck } from './replay-guard.js';

/** The command-signing keys this device pinned (config.ts validates them when it loads the config). */
export function pinnedCommandKeys(config: Pick<AgentConfig, 'commandSigningKeys'>): readonly PinnedCommandKey[] {
  return config.commandSigningKeys;
}

/** What the API shows for each rejection (CommandStatusReportSchema: at most 500 characters). */
export const REJECTION_TEXT: Record<CommandRejection, string> = {
  malformed: 'malformed: not a signed command envelope',
  unknown_key: 'unknown key id: not among the keys this device pinned',
  bad_signature: 'bad signature',
  other_device: "another device's id",
  expired: 'expired',
  not_yet_valid: 'not yet valid',
};
export const REPLAYED_TEXT = 'replayed nonce';

export interface VerifyContext {
  deviceId: string;
  pinnedKeys: readonly PinnedCommandKey[];
  /** The estimate of the API's clock (ServerClock). */
  now: Date;
  maxClockSkewMs?: number;
  guard: { check(commandId: string, nonce: string, now: Date): NonceCheck };
  policy: { check(action: string): Promise<PolicyDecision> };
  /** Why this host cannot run the action (no systemd, no Docker), or null. */
  unsupported: (action: string) => Promise<string | null>;
}

export type Verdict =
  /** Every check passed. `redelivery`: the guard already holds this id with this nonce. */
  | { kind: 'accept'; envelope: CommandEnvelope; redelivery: boolean }
  /**
   * Refused, with the text the API shows. `commandId` when the id can be reported; `authentic`
   * when the signature was verified (only then may the id be trusted to be this device's).
   */
  | { kind: 'reject'; reason: string; commandId: string | undefined; authentic: boolean; redelivery: boolean; nonce?: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The command id of whatever arrived, when it looks like one (so even a malformed command can be answered). */
export function claimedCommandId(raw: unknown): string | undefined {
  const id = raw !== null && typeof raw === 'object' ? (raw as { commandId?: unknown }).commandId : undefined;
  return typeof id === 'string' && UUID.test(id) ? id : undefined;
}

/**
 * Checks a command as it arrived, in this order, and answers the first failure: malformed,
 * unknown key id, bad signature, another device's id (verifyCommand); replayed nonce (a
 * redelivery of a command this device accepted is recognised here, before the time check, so
 * its known status can be reported again); expired or not yet valid; unknown action or params
 * outside the action's schema; denied by the local policy; unsupported on this host.
 * Reads only: no check changes anything, on the device or in the agent's files.
 */
export async function verifySignedCommand(raw: unknown, ctx: VerifyContext): Promise<Verdict> {
  const claimed = claimedCommandId(raw);
  const reject = (reason: string, authentic: false | { nonce: string }, redelivery = false): Verdict => ({
    kind: 'reject',
    reason,
    commandId: claimed,
    authentic: authentic !== false,
    redelivery,
    ...(authentic ? { nonce: authentic.nonce } : {}),
  });
  const maxClockSkewMs = ctx.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  let verified: ReturnType<typeof verifyCommand>;
  try {
    verified = verifyCommand(raw, ctx.pinnedKeys, { deviceId: ctx.deviceId, now: ctx.now, maxClockSkewMs });
  } catch {
    // A pinned key that cannot be used (config.ts checks them at load, so not expected here).
    return reject('unknown key id: the pinned key cannot be used', false);
  }
  if (!verified.ok && verified.reason !== 'expired' && verified.reason !== 'not_yet_valid') {
    return reject(REJECTION_TEXT[verified.reason], false);
  }
  // From here the signature and the device id are verified (verifyCommand checks time last).
  const envelope = verified.ok ? verified.envelope : SignedCommandSchema.parse(raw);
  const signed = { nonce: envelope.nonce };
  const seen = ctx.guard.check(envelope.commandId, envelope.nonce, ctx.now);
  if (seen.kind === 'replay') return reject(REPLAYED_TEXT, signed);
  if (seen.kind === 'unavailable') return reject(`replay protection state was lost; commands are refused until ${seen.until}`, signed);
  const redelivery = seen.kind === 'redelivery';
  if (!verified.ok) {
    const text =
      verified.reason === 'expired'
        ? `expired at ${envelope.expiresAt} (the device's estimate of the API's time: ${ctx.now.toISOString()})`
        : `not yet valid: issued at ${envelope.issuedAt} (the device's estimate of the API's time: ${ctx.now.toISOString()})`;
    return reject(text, signed, redelivery);
  }
  const action = envelope.action;
  if (!Object.hasOwn(COMMAND_ACTION_PARAMS, action)) return reject(`unknown action ${action}`, signed, redelivery);
  const params = COMMAND_ACTION_PARAMS[action as keyof typeof COMMAND_ACTION_PARAMS].safeParse(envelope.params);
  if (!params.success) {
    const issues = params.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ');
    return reject(`params do not match the action ${action}: ${issues}`.slice(0, 500), signed, redelivery);
  }
  const decision = await ctx.policy.check(action);
  if (!decision.allowed) return reject(`denied by local policy (${decision.why})`.slice(0, 500), signed, redelivery);
  const unsupported = await ctx.unsupported(action);
  if (unsupported) return reject(`unsupported on this host: ${unsupported}`.slice(0, 500), signed, redelivery);
  return { kind: 'accept', envelope, redelivery };
}
