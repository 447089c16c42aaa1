import { z } from 'zod';
import { IsoDateTimeSchema, PageQuerySchema, pageOf } from './common.js';

/**
 * Browser terminal and file manager (issue 14): SSH from an API instance on the hub host to the
 * device's overlay address, authenticated by a short-lived OpenSSH user certificate. Never through
 * the agent.
 */

/** The account every device creates for terminal and file sessions (passwordless sudo). */
export const SSH_ACCOUNT = 'xspectre-ops';

/** `ssh-ed25519 AAAA…` (an optional comment after it), as sshd and authorized_keys take it. */
export const SshEd25519PublicKeySchema = z
  .string()
  .max(512)
  .regex(/^ssh-ed25519 [A-Za-z0-9+/]{68}(?: [\x20-\x7e]{0,200})?$/, 'must be an OpenSSH ssh-ed25519 public key line');

/** What a device's sshd needs to trust terminal sessions: the enroll answer's `ssh`, and `GET agent/ssh-setup`. */
export const DeviceSshSetupSchema = z.object({
  userCaPublicKey: SshEd25519PublicKeySchema.describe('the API user CA (TrustedUserCAKeys)'),
  principal: z
    .string()
    .regex(/^xspectre-device-[0-9a-f-]{36}$/)
    .describe('the only principal this device accepts (AuthorizedPrincipalsFile): certificates for one device never open another'),
  account: z.literal(SSH_ACCOUNT),
});
export type DeviceSshSetup = z.infer<typeof DeviceSshSetupSchema>;

/** The principal of a device: its id, so a certificate issued for one device is useless on any other. */
export function sshPrincipalOf(deviceId: string): string {
  return `xspectre-device-${deviceId}`;
}

/** The account a recovery shell logs in as: the recovery system runs everything as root (recovery-usb/README.md). */
export const RECOVERY_SSH_ACCOUNT = 'root';

/**
 * The principal of a recovery stick: its medium id. A device's own principal never opens its stick's
 * shell (and the reverse): a certificate for a recovery session is issued for this principal only.
 */
export function recoveryPrincipalOf(mediumId: string): string {
  return `xspectre-recovery-${mediumId}`;
}

/** What a booted recovery stick's sshd needs to trust recovery shells (the recovery register answer's `ssh`). */
export const RecoverySshSetupSchema = z.object({
  userCaPublicKey: SshEd25519PublicKeySchema.describe('the API user CA (TrustedUserCAKeys)'),
  principal: z
    .string()
    .regex(/^xspectre-recovery-[0-9a-f-]{36}$/)
    .describe('the only principal the stick accepts (AuthorizedPrincipalsFile): xspectre-recovery-<medium id>'),
  account: z.literal(RECOVERY_SSH_ACCOUNT),
});
export type RecoverySshSetup = z.infer<typeof RecoverySshSetupSchema>;

/** Critical: trust the host key the device reports now (like accepting new hardware). */
export const AcceptSshHostKeySchema = z
  .object({
    reason: z
      .string()
      .trim()
      .min(3, 'say why the new host key is trusted (at least 3 characters)')
      .max(500)
      .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
  })
  .strict();
export type AcceptSshHostKey = z.infer<typeof AcceptSshHostKeySchema>;

/** A device's pinned SSH host key and a differing one it reported (pending an operator's decision). */
export const DeviceSshHostKeySchema = z.object({
  deviceId: z.uuid(),
  pinned: z.object({ key: z.string(), fingerprint: z.string().describe('SHA256:… as ssh-keygen -l prints it') }).nullable(),
  pending: z
    .object({ key: z.string(), fingerprint: z.string(), seenAt: IsoDateTimeSchema, source: z.enum(['inventory', 'connection']) })
    .nullable()
    .describe('a different host key the device presented: connections are refused until a Super Admin accepts it'),
});
export type DeviceSshHostKey = z.infer<typeof DeviceSshHostKeySchema>;

// ---------------------------------------------------------------------------------------------
// Remote sessions (terminal and file manager)

export const REMOTE_SESSION_KINDS = ['terminal', 'files'] as const;
export const RemoteSessionKindSchema = z.enum(REMOTE_SESSION_KINDS);
export type RemoteSessionKind = z.infer<typeof RemoteSessionKindSchema>;

/** Why a session ended; the console shows it and the audit row keeps it. */
export const REMOTE_SESSION_END_REASONS = [
  'closed', // the operator closed it, or the shell exited
  'device_disconnected', // SSH connection dropped (tunnel down, device rebooted)
  'idle_timeout',
  'max_duration',
  'access_revoked', // logout, user disabled, permission removed, device quarantined/revoked
  'server_shutdown',
  'error',
] as const;
export const RemoteSessionEndReasonSchema = z.enum(REMOTE_SESSION_END_REASONS);
export type RemoteSessionEndReason = z.infer<typeof RemoteSessionEndReasonSchema>;

export const TERMINAL_MIN_COLS = 2;
export const TERMINAL_MAX_COLS = 1000;
export const TERMINAL_MIN_ROWS = 1;
export const TERMINAL_MAX_ROWS = 500;
const Cols = z.number().int().min(TERMINAL_MIN_COLS).max(TERMINAL_MAX_COLS);
const Rows = z.number().int().min(TERMINAL_MIN_ROWS).max(TERMINAL_MAX_ROWS);

/**
 * Where a terminal goes: `device` = the device's own system (xspectre-ops, the host key pinned at
 * enrollment); `recovery` = the recovery stick the device booted (RECOVERY MODE), as root, with
 * the host key the stick registered for this boot: Super Admin only.
 */
export const TERMINAL_TARGETS = ['device', 'recovery'] as const;
export const TerminalTargetSchema = z.enum(TERMINAL_TARGETS);
export type TerminalTarget = z.infer<typeof TerminalTargetSchema>;

/** `POST devices/:id/terminal-sessions`: a one-time ticket for the terminal WebSocket. */
export const CreateTerminalSessionSchema = z
  .object({ cols: Cols.default(80), rows: Rows.default(24), target: TerminalTargetSchema.default('device') })
  .strict();
export type CreateTerminalSession = z.infer<typeof CreateTerminalSessionSchema>;

/** The WebSocket path; the ticket rides as `?ticket=` (single use, short-lived, bound to the session that asked). */
export const TERMINAL_WS_PATH = '/api/v1/terminal';

export const TerminalTicketSchema = z.object({
  sessionId: z.uuid().describe('the remote session (recording, audit) this ticket opens'),
  ticket: z.string().describe('single use; redeem within expiresAt on TERMINAL_WS_PATH?ticket=…'),
  expiresAt: IsoDateTimeSchema,
  websocketPath: z.string(),
});
export type TerminalTicket = z.infer<typeof TerminalTicketSchema>;

/**
 * Terminal WebSocket protocol. Binary frames carry terminal bytes both ways (device output down,
 * keystrokes up). Text frames carry JSON control messages.
 *
 * Flow control is credit based: the server sends at most TERMINAL_WINDOW_BYTES of output the
 * browser has not acknowledged, then pauses the SSH channel (so the device's sshd stops sending
 * when its window fills) until `ack` returns credit. The console acks after xterm has rendered.
 */
export const TERMINAL_WINDOW_BYTES = 1024 * 1024;
export const TERMINAL_MAX_CLIENT_FRAME_BYTES = 64 * 1024;

export const TerminalClientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('resize'), cols: Cols, rows: Rows }).strict(),
  z.object({ type: z.literal('ack'), bytes: z.number().int().min(1).max(TERMINAL_WINDOW_BYTES) }).strict(),
  z.object({ type: z.literal('ping') }).strict(),
]);
export type TerminalClientMessage = z.infer<typeof TerminalClientMessageSchema>;

export const TerminalServerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    sessionId: z.uuid(),
    deviceId: z.uuid(),
    deviceName: z.string(),
    /** Absent from servers before recovery shells: `device`. */
    target: TerminalTargetSchema.optional(),
    hostKeyFingerprint: z.string(),
    idleTimeoutSeconds: z.number().int(),
    maxDurationSeconds: z.number().int(),
    recordingInput: z.boolean(),
  }),
  z.object({ type: z.literal('pong') }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('ended'), reason: RemoteSessionEndReasonSchema, exitCode: z.number().int().nullable(), message: z.string() }),
]);
export type TerminalServerMessage = z.infer<typeof TerminalServerMessageSchema>;

/** WebSocket close codes of the terminal (besides 1000/1001/1008/1009/1011). */
export const TerminalCloseCode = {
  Ended: 4000,
  AccessRevoked: 4403,
  DeviceUnreachable: 4502,
} as const;

// ---------------------------------------------------------------------------------------------
// Files (SFTP as root through sudo on the device)

export const REMOTE_PATH_MAX_BYTES = 4096;
const encoder = new TextEncoder();
const utf8Bytes = (text: string) => encoder.encode(text).length;
const hasControlCharacter = (text: string) => [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
export const REMOTE_NAME_MAX_BYTES = 255;

/**
 * An absolute POSIX path on the device: no NUL, no control characters (a newline in a name is how
 * log and shell injection starts), no `.` or `..` segments, no empty segments. The API never
 * resolves relative paths: what the operator names is exactly what is touched.
 */
export const RemotePathSchema = z
  .string()
  .min(1)
  .refine((p) => utf8Bytes(p) <= REMOTE_PATH_MAX_BYTES, `must be at most ${REMOTE_PATH_MAX_BYTES} bytes`)
  .refine((p) => p.startsWith('/'), 'must be an absolute path (start with /)')
  .refine((p) => !hasControlCharacter(p), 'must not contain NUL, newlines or other control characters')
  .refine(
    (p) =>
      p === '/' ||
      !p
        .split('/')
        .slice(1)
        .some((s) => s === '' || s === '.' || s === '..'),
    {
      message: 'must not contain empty, "." or ".." segments (no trailing slash)',
    },
  )
  .refine((p) => p.split('/').every((s) => utf8Bytes(s) <= REMOTE_NAME_MAX_BYTES), `names must be at most ${REMOTE_NAME_MAX_BYTES} bytes`);

export const REMOTE_FILE_TYPES = ['file', 'directory', 'symlink', 'other'] as const;
export const RemoteFileEntrySchema = z.object({
  name: z.string(),
  path: z.string(),
  type: z.enum(REMOTE_FILE_TYPES),
  size: z.number().int().min(0),
  mode: z.number().int().min(0).max(0o7777).describe('permission bits, e.g. 420 = 0644'),
  uid: z.number().int().min(0),
  gid: z.number().int().min(0),
  owner: z.string().nullable().describe('user name when the listing knows it'),
  group: z.string().nullable(),
  modifiedAt: IsoDateTimeSchema,
  linkTarget: z.string().nullable(),
});
export type RemoteFileEntry = z.infer<typeof RemoteFileEntrySchema>;

export const REMOTE_LIST_SORTS = ['name', 'size', 'modifiedAt', 'type'] as const;
export const ListRemoteFilesQuerySchema = PageQuerySchema.extend({
  path: RemotePathSchema,
  sort: z.enum(REMOTE_LIST_SORTS).default('name'),
  order: z.enum(['asc', 'desc']).default('asc'),
}).strict();
export type ListRemoteFilesQuery = z.infer<typeof ListRemoteFilesQuerySchema>;
export const RemoteFileListSchema = pageOf(RemoteFileEntrySchema).extend({
  path: z.string(),
  directoriesFirst: z.literal(true),
});
export type RemoteFileList = z.infer<typeof RemoteFileListSchema>;

export const RemotePathQuerySchema = z.object({ path: RemotePathSchema }).strict();
export const RemoteMkdirSchema = z.object({ path: RemotePathSchema, mode: z.number().int().min(0).max(0o7777).default(0o755) }).strict();
export const RemoteRenameSchema = z
  .object({ from: RemotePathSchema, to: RemotePathSchema, overwrite: z.boolean().default(false) })
  .strict();
export const RemoteDeleteSchema = z
  .object({
    path: RemotePathSchema,
    recursive: z.boolean().default(false).describe('directories with content need it'),
    confirm: z.string().describe('must repeat path exactly: the console asks the operator to confirm'),
  })
  .strict();
export const RemoteChmodSchema = z.object({ path: RemotePathSchema, mode: z.number().int().min(0).max(0o7777) }).strict();
export const RemoteUploadQuerySchema = z
  .object({
    path: RemotePathSchema,
    overwrite: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
  })
  .strict();

/** The result of one file operation (audited with the same fields). */
export const RemoteFileResultSchema = z.object({
  path: z.string(),
  entry: RemoteFileEntrySchema.nullable(),
  bytes: z.number().int().min(0).nullable(),
  sha256: z.string().nullable(),
});
export type RemoteFileResult = z.infer<typeof RemoteFileResultSchema>;

// ---------------------------------------------------------------------------------------------
// Sessions and recordings

export const RemoteSessionSchema = z.object({
  id: z.uuid(),
  kind: RemoteSessionKindSchema,
  deviceId: z.uuid(),
  deviceName: z.string().nullable(),
  userId: z.uuid(),
  userEmail: z.string().nullable(),
  openedAt: IsoDateTimeSchema,
  closedAt: IsoDateTimeSchema.nullable(),
  endReason: RemoteSessionEndReasonSchema.nullable(),
  certificateKeyId: z.string().describe('the key id the device logs for this session'),
  recording: z
    .object({ bytes: z.number().int().min(0), sha256: z.string().nullable(), inputRecorded: z.boolean() })
    .nullable()
    .describe('terminal sessions only; sha256 once the session has ended (sealed into its audit row)'),
});
export type RemoteSession = z.infer<typeof RemoteSessionSchema>;
export const RemoteSessionPageSchema = pageOf(RemoteSessionSchema);
export const ListRemoteSessionsQuerySchema = PageQuerySchema.extend({
  deviceId: z.uuid().optional(),
  userId: z.uuid().optional(),
  kind: RemoteSessionKindSchema.optional(),
}).strict();
export type ListRemoteSessionsQuery = z.infer<typeof ListRemoteSessionsQuerySchema>;
