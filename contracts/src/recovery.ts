import { z } from 'zod';
import { IsoDateTimeSchema } from './common.js';
import { DiskImageMetadataSchema, DiskImageNameSchema, DiskImageTokenOpSchema } from './backup-server.js';
import { WireGuardKeySchema } from './agent.js';
import { RecoverySshSetupSchema, SshEd25519PublicKeySchema } from './remote-access.js';

/**
 * Recovery media and the recovery agent (issue 16). A recovery stick is bound to one device but
 * never holds that device's own WireGuard key or credential: creating recovery media issues a
 * separate identity (key pair, overlay address from the recovery pool, credential) that can only
 * register in recovery mode, receive `recovery.*` commands, report progress and ask for tokens on
 * that device's disk images. The normal agent never receives `recovery.*` commands and the
 * recovery credential opens no other agent route.
 */

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (SHA-256)');
const Bytes = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Short text a stick reports (models, versions): printable, bounded. */
const DeviceText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');
/** A kernel block device name (`sda`, `nvme0n1`, `vda`). */
export const DiskNameSchema = z.string().regex(/^[a-z][a-z0-9]{0,31}$/, 'must be a kernel disk name such as sda or nvme0n1');
/** A partition's kernel name (`sda1`, `nvme0n1p2`). */
export const PartitionNameSchema = z.string().regex(/^[a-z][a-z0-9]{0,31}$/, 'must be a kernel partition name such as sda1 or nvme0n1p2');

// ---------------------------------------------------------------------------------------------
// The recovery credential: `Authorization: Bearer xsr1.<mediumId>.<secret>` on `agent/recovery/*`.
// The `xsr1.` prefix keeps it apart from a device credential: the device authenticator refuses it.

export const RECOVERY_CREDENTIAL_PREFIX = 'xsr1.';
export const RecoveryCredentialSchema = z
  .string()
  .regex(/^xsr1\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/, 'must be xsr1.<medium id>.<43 base64url characters>');

// ---------------------------------------------------------------------------------------------
// recovery.conf on the stick's CONFIG partition (recovery-usb/README.md): KEY=VALUE lines, written
// by the API's personalisation, read by the recovery agent. Values never contain newlines.

export const RECOVERY_CONF_VERSION = 1;
export const RecoveryConfSchema = z
  .object({
    XS_RECOVERY_CONF_VERSION: z.literal(String(RECOVERY_CONF_VERSION)),
    XS_DEVICE_ID: z.uuid(),
    XS_MEDIUM_ID: z.uuid(),
    /** The agent API over the overlay, e.g. `http://10.10.0.1:3000/api/v1`. */
    XS_API_URL: z.url({ protocol: /^https?$/ }),
    XS_CREDENTIAL: RecoveryCredentialSchema,
    XS_WG_PRIVATE_KEY: WireGuardKeySchema,
    /** The stick's overlay address with its prefix, e.g. `10.10.0.240/32`. */
    XS_WG_ADDRESS: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/32$/, 'must be an IPv4 address with /32'),
    XS_WG_HUB_PUBLIC_KEY: WireGuardKeySchema,
    /** host:port of the hub's public endpoint. */
    XS_WG_HUB_ENDPOINT: z
      .string()
      .min(3)
      .max(260)
      .regex(/^[^\s]+:\d{1,5}$/, 'must be host:port'),
    /** Comma-separated CIDRs routed into the tunnel (the overlay). */
    XS_WG_ALLOWED_IPS: z
      .string()
      .min(9)
      .max(400)
      .regex(/^[0-9./,]+$/, 'must be comma-separated CIDRs'),
    /**
     * The command-signing public keys the stick trusts, comma-separated `keyId:base64(SPKI DER)`
     * (the same keys an agent pins at enrollment).
     */
    XS_COMMAND_KEYS: z.string().min(1).max(4000),
    /** Optional: the device's display name, for the console line only. */
    XS_DEVICE_NAME: z.string().max(200).optional(),
  })
  .strict();
export type RecoveryConf = z.infer<typeof RecoveryConfSchema>;

// ---------------------------------------------------------------------------------------------
// Recovery media as the console sees them (`devices/:id/recovery-media`).

export const RecoveryMediumStateSchema = z.enum(['active', 'revoked']);

/** A disk as the stick reported it at registration. */
export const RecoveryDiskSchema = z
  .object({
    name: DiskNameSchema,
    sizeBytes: Bytes,
    model: DeviceText(128).nullable(),
    serial: DeviceText(128).nullable(),
    removable: z.boolean(),
    rotational: z.boolean(),
    /** `recovery-stick` is the stick itself: never imaged, never written. */
    role: z.enum(['target', 'recovery-stick']),
  })
  .strict();
export type RecoveryDisk = z.infer<typeof RecoveryDiskSchema>;

export const RecoveryHardwareSchema = z
  .object({
    firmware: z.enum(['uefi', 'bios']),
    cpuModel: DeviceText(200).nullable(),
    cpus: z.number().int().min(1).max(4096),
    memoryBytes: Bytes,
    disks: z.array(RecoveryDiskSchema).max(64),
    nics: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be an interface name'),
            mac: z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, 'must be a lower-case MAC address'),
            driver: DeviceText(64).nullable(),
          })
          .strict(),
      )
      .max(64),
  })
  .strict();
export type RecoveryHardware = z.infer<typeof RecoveryHardwareSchema>;

/** Live progress of a recovery command (image, restore). */
export const RecoveryProgressSchema = z
  .object({
    commandId: z.uuid(),
    phase: z.enum(['reading', 'uploading', 'downloading', 'writing', 'verifying']),
    bytesDone: Bytes,
    bytesTotal: Bytes,
    rateBytesPerSecond: z.number().finite().min(0).max(1e12),
    etaSeconds: z
      .number()
      .finite()
      .min(0)
      .max(365 * 24 * 3600)
      .nullable(),
  })
  .strict()
  .refine((p) => p.bytesDone <= p.bytesTotal, { message: 'bytesDone must not exceed bytesTotal', path: ['bytesDone'] });
export type RecoveryProgress = z.infer<typeof RecoveryProgressSchema>;

export const RecoveryMediumSchema = z.object({
  id: z.uuid(),
  deviceId: z.uuid(),
  state: RecoveryMediumStateSchema,
  overlayAddress: z.string(),
  wgPublicKey: z.string(),
  /** SHA-256 and size of the personalised image (what the operator flashes). */
  imageSha256: Sha256Hex,
  imageSizeBytes: Bytes,
  /** Until when the personalised image can be downloaded (it holds secrets; deleted after). */
  downloadExpiresAt: IsoDateTimeSchema.nullable(),
  downloadable: z.boolean(),
  /** How to check and flash the image (SHA-256, expiry, dd / Etcher), while it is downloadable; null after. */
  flashingSteps: z.array(z.string()).max(20).nullable(),
  createdAt: IsoDateTimeSchema,
  createdBy: z.string(),
  revokedAt: IsoDateTimeSchema.nullable(),
  revokedBy: z.string().nullable(),
  /** Last request from the stick (any recovery route). */
  lastSeenAt: IsoDateTimeSchema.nullable(),
  /** Set while the stick runs: the device is in RECOVERY MODE. */
  recoveryMode: z
    .object({
      registeredAt: IsoDateTimeSchema,
      bootId: z.uuid(),
      hardware: RecoveryHardwareSchema,
      progress: RecoveryProgressSchema.nullable(),
      /** SHA256:… of the host key the stick's sshd registered for this boot; null: no recovery shell on this stick. */
      shellHostKeyFingerprint: z.string().nullable().optional(),
    })
    .nullable(),
});
export type RecoveryMedium = z.infer<typeof RecoveryMediumSchema>;
export const RecoveryMediaListSchema = z.object({ media: z.array(RecoveryMediumSchema).max(100) });

/** `POST devices/:id/recovery-media` (devices.critical_actions, step-up): replaces (revokes) an active medium. */
export const RecoveryMediumCreateSchema = z.object({}).strict();
/** The answer: the medium plus the flashing steps for the console. */
export const RecoveryMediumCreatedSchema = z.object({
  medium: RecoveryMediumSchema,
  flashingSteps: z.array(z.string()).max(20),
});

// ---------------------------------------------------------------------------------------------
// The recovery agent's routes (`agent/recovery/*`, recovery credential).

/** `POST agent/recovery/register`: the stick booted and is in RECOVERY MODE. */
export const RecoveryRegisterSchema = z
  .object({
    /** A fresh id per boot: a second registration of the same boot is idempotent. */
    bootId: z.uuid(),
    agentVersion: DeviceText(64),
    /** The stick's image recipe hash (manifest.json) and kernel. */
    recipeHash: Sha256Hex.nullable(),
    kernel: DeviceText(128).nullable(),
    hardware: RecoveryHardwareSchema,
    /**
     * The public host key of the sshd this boot started for recovery shells (generated in RAM at
     * boot). The API pins it for this boot: the registration is authenticated by the recovery
     * credential over the tunnel, so there is no trust on first use. Absent or null: no shell on
     * this stick (no sshd in its image).
     */
    sshHostKey: SshEd25519PublicKeySchema.nullable().optional(),
  })
  .strict();
export type RecoveryRegister = z.infer<typeof RecoveryRegisterSchema>;

export const RecoveryRegisterResponseSchema = z
  .object({
    deviceId: z.uuid(),
    mediumId: z.uuid(),
    serverTime: IsoDateTimeSchema,
    /** Where disk images live (the backup server's base URL as the stick reaches it). */
    backupUrl: z.string().nullable(),
    /** Only when the request carried `sshHostKey`: what the stick's sshd trusts for recovery shells. */
    ssh: RecoverySshSetupSchema.optional(),
  })
  .strict();
export type RecoveryRegisterResponse = z.infer<typeof RecoveryRegisterResponseSchema>;

/** `POST agent/recovery/image-tokens`: a token for this device's images, for a running recovery command. */
export const RecoveryImageTokenRequestSchema = z
  .object({
    commandId: z.uuid(),
    op: DiskImageTokenOpSchema,
  })
  .strict();
export const RecoveryImageTokenResponseSchema = z
  .object({
    token: z.string(),
    expiresAt: IsoDateTimeSchema,
    /** `<backupUrl>/disk-images/<deviceId>/` */
    imagesUrl: z.string(),
  })
  .strict();

/** `POST agent/recovery/images`: an image the stick uploaded and the backup server accepted. */
export const RecoveryImageReportSchema = z
  .object({
    commandId: z.uuid(),
    metadata: DiskImageMetadataSchema,
    /** Images the backup server pruned by retention when it accepted this one (its complete answer's `pruned`). */
    pruned: z.array(DiskImageNameSchema).max(100).optional(),
  })
  .strict();
export type RecoveryImageReport = z.infer<typeof RecoveryImageReportSchema>;

// ---------------------------------------------------------------------------------------------
// Recovery commands (signed like every command; only the recovery agent receives them).

export const RecoveryImageParamsSchema = z
  .object({
    imageName: DiskImageNameSchema,
    /** Disks to image, in order; every target disk the stick reported when empty. */
    disks: z.array(DiskNameSchema).max(16),
    /** zstd level (the default 3 keeps up with a gigabit link on a few cores). */
    compressionLevel: z.number().int().min(1).max(19),
  })
  .strict();
export const RecoveryRestoreParamsSchema = z
  .object({
    imageName: DiskImageNameSchema,
    /** The image's SHA-256 (compressed) and size as the catalog recorded them: the stick checks both. */
    sha256Compressed: Sha256Hex,
    compressedBytes: Bytes,
    /** Which disk of the image goes onto which disk of this machine (at least the same size). */
    targets: z
      .array(z.object({ imageDisk: DiskNameSchema, sha256Raw: Sha256Hex, sizeBytes: Bytes, target: DiskNameSchema }).strict())
      .min(1)
      .max(16),
  })
  .strict();
export const RecoverySmartParamsSchema = z.object({}).strict();
export const RecoveryFsckParamsSchema = z.object({ partition: PartitionNameSchema, repair: z.boolean() }).strict();
export const RecoveryRebootParamsSchema = z.object({}).strict();

/** The normal agent's action: arm a one-time boot to the stick, then reboot. */
export const RecoveryBootParamsSchema = z.object({}).strict();

/** Actions only the recovery agent receives (the normal agent's poll never returns them). */
export const RECOVERY_COMMAND_PREFIX = 'recovery.';
/** The normal agent's own action that leads into recovery (not a recovery-agent action). */
export const REBOOT_TO_RECOVERY_ACTION = 'reboot-to-recovery';
