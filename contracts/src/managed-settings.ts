import { z } from 'zod';
import { CommandKeyIdSchema } from './command-envelope.js';
import { IsoDateTimeSchema } from './common.js';

/**
 * API-managed agent settings and the commands that change them: `settings.apply` (interval and
 * watch list), `credential.rotate` (a new device credential the agent makes itself) and
 * `keys.pin` (a new command-signing key, announced by a command signed with a key the device
 * already trusts). The agent keeps what they set in `<state dir>/managed.json`, layered over
 * agent.conf (agent/src/managed.ts).
 */

export const MANAGED_HEARTBEAT_MIN_SECONDS = 10;
export const MANAGED_HEARTBEAT_MAX_SECONDS = 3600;
export const MANAGED_WATCH_UNITS_MAX = 500;

/** A unit name as agent.conf's `watchUnits` takes it (agent/src/config.ts). */
export const WatchUnitSchema = z.string().regex(/^[A-Za-z0-9:_.@\\-]{1,256}$/, 'must be a systemd unit name');

/** `settings.apply`: at least one field; each one given replaces the device's value. */
export const SettingsApplyParamsSchema = z
  .strictObject({
    heartbeatIntervalSeconds: z.number().int().min(MANAGED_HEARTBEAT_MIN_SECONDS).max(MANAGED_HEARTBEAT_MAX_SECONDS).optional(),
    watch: z
      .strictObject({
        units: z
          .array(WatchUnitSchema)
          .max(MANAGED_WATCH_UNITS_MAX)
          .describe('systemd units reported in every heartbeat (failed units always are)'),
      })
      .optional(),
  })
  .refine((p) => p.heartbeatIntervalSeconds !== undefined || p.watch !== undefined, {
    message: 'name at least one setting (heartbeatIntervalSeconds, watch)',
  });
export type SettingsApplyParams = z.infer<typeof SettingsApplyParamsSchema>;

/** `credential.rotate` carries nothing: the agent makes the new credential, so it is never in a stored command. */
export const CredentialRotateParamsSchema = z.strictObject({});

/** `keys.pin`: the new key, signed by a key the device pinned before. Queued only by the API (POST keys/command-signing/rotate). */
export const KeysPinParamsSchema = z.strictObject({
  keyId: CommandKeyIdSchema,
  publicKeyPem: z.string().min(1).max(4096).describe('Ed25519 public key, SPKI PEM'),
});
export type KeysPinParams = z.infer<typeof KeysPinParamsSchema>;

/** A device credential as the agent makes it for a rotation: `dc_` and 32 random bytes, base64url. */
export const NewDeviceCredentialSchema = z.string().regex(/^dc_[A-Za-z0-9_-]{43}$/, 'must be dc_ followed by 32 bytes, base64url');

/** `POST agent/credential`: sent once, with the old credential, while the device's `credential.rotate` runs. */
export const AgentCredentialRequestSchema = z.strictObject({
  commandId: z.uuid(),
  credential: NewDeviceCredentialSchema,
});
export type AgentCredentialRequest = z.infer<typeof AgentCredentialRequestSchema>;

export const AgentCredentialResponseSchema = z.object({
  commandId: z.uuid(),
  status: z.literal('pending').describe('both credentials work until the first request with the new one'),
});
export type AgentCredentialResponse = z.infer<typeof AgentCredentialResponseSchema>;

/** `POST keys/command-signing/rotate`. */
export const RotateCommandKeyRequestSchema = z.strictObject({
  graceHours: z
    .number()
    .int()
    .min(1)
    .max(720)
    .describe('how long the current key keeps signing while devices pin the new one; then the new key signs and the old one retires'),
});
export type RotateCommandKeyRequest = z.infer<typeof RotateCommandKeyRequestSchema>;

export const RotateCommandKeyResponseSchema = z.object({
  keyId: CommandKeyIdSchema.describe('the announced key'),
  previousKeyId: CommandKeyIdSchema.describe('the key that signs until activatesAt'),
  activatesAt: IsoDateTimeSchema.describe('when the announced key starts signing and the previous one retires'),
  devicesAnnounced: z.number().int().min(0).describe('devices that got a keys.pin command now; the others get one at their next poll'),
});
export type RotateCommandKeyResponse = z.infer<typeof RotateCommandKeyResponseSchema>;
