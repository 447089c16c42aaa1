import { z } from 'zod';
import { parseByteSize } from './byte-size.js';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const path = z
  .string()
  .min(1)
  .max(4096)
  .refine((v) => !v.includes('\0'), 'must be a path');
const size = (fallback: string, minBytes: number, example: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const bytes = parseByteSize(v);
      if (bytes === undefined || bytes < minBytes) {
        ctx.addIssue({ code: 'custom', message: `must be a size of at least ${minBytes} bytes, e.g. ${example}` });
        return z.NEVER;
      }
      return bytes;
    });
const ZFS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9][A-Za-z0-9_.:-]*)+$/;

/** Every setting the backup server reads, parsed once at boot. Nothing else reads process.env. */
const EnvSchema = z
  .object({
    BACKUP_LISTEN_HOST: z.string().min(1).max(255).default('127.0.0.1').describe('the overlay address devices reach'),
    BACKUP_LISTEN_PORT: z.coerce.number().int().min(0).max(65535).default(8420),
    BACKUP_ZFS_DATASET: z
      .string()
      .regex(ZFS_NAME, 'must be pool/dataset, e.g. backup-pool/file-backups')
      .optional()
      .describe('parent of the per-device datasets; set = ZFS store'),
    BACKUP_STORAGE_DIR: path
      .optional()
      .describe('root of the plain directory store (no quota, no snapshots); used when no ZFS dataset is set'),
    BACKUP_DEVICE_QUOTA: z
      .string()
      .default('50G')
      .transform((v, ctx) => {
        const bytes = parseByteSize(v);
        if (bytes === undefined || bytes < 16 * 1024 * 1024) {
          ctx.addIssue({ code: 'custom', message: 'must be a size of at least 16M, e.g. 50G' });
          return z.NEVER;
        }
        return bytes;
      })
      .describe('ZFS quota of each device dataset'),
    BACKUP_SNAPSHOT_FLOOR_DAYS: z.coerce.number().int().min(1).max(3650).default(14).describe('days every hourly ZFS snapshot is kept'),
    BACKUP_SNAPSHOT_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
    BACKUP_SCRUB_INTERVAL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
    // Full-disk images (issue 16, ./disk-images/).
    BACKUP_IMAGE_KEEP: z.coerce.number().int().min(1).max(20).default(3).describe('published images kept per device'),
    BACKUP_IMAGE_MAX_BYTES: size('200G', 1024 * 1024, '200G').describe('largest compressed image accepted'),
    BACKUP_IMAGE_UPLOAD_TTL_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .max(720)
      .default(48)
      .describe('an upload untouched this long is deleted (maintenance tick)'),
    BACKUP_IMAGE_ZFS_DATASET: z
      .string()
      .regex(ZFS_NAME, 'must be pool/dataset, e.g. backup-pool/disk-images')
      .optional()
      .describe('parent of the per-device image datasets (ZFS store); default <pool>/disk-images'),
    BACKUP_IMAGE_DEVICE_QUOTA: size('1T', 16 * 1024 * 1024, '1T').describe('ZFS quota of each device image dataset'),
    BACKUP_TOKEN_PUBLIC_KEYS: path.describe("a PEM file or a directory of *.pem: the public halves of the API's backup-token keys"),
    BACKUP_RCLONE_BIN: path.default('rclone'),
    BACKUP_ZFS_BIN: path.default('zfs'),
    BACKUP_ZPOOL_BIN: path.default('zpool'),
    BACKUP_LOG_REQUESTS: bool.default(true),
    BACKUP_API_URL: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .optional()
      .describe('the API (…/api/v1) capacity reports go to; unset = reports are only logged'),
    // Prometheus scrapes (./metrics.ts): a listener of its own, never the devices' port.
    BACKUP_METRICS_LISTEN: z
      .string()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9465 ([::1]:9465 for IPv6)')
      .transform((v, ctx) => {
        const at = v.lastIndexOf(':');
        const port = Number(v.slice(at + 1));
        if (port > 65535) ctx.addIssue({ code: 'custom', message: 'port must be 0-65535' });
        return { host: v.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port };
      })
      .optional()
      .describe('the /metrics listener, host:port (unset = none)'),
    BACKUP_SERVICE_CREDENTIAL_FILE: path.optional().describe('root-only file holding the service credential (xs_svc_…) for the reports'),
  })
  .refine((e) => (e.BACKUP_API_URL === undefined) === (e.BACKUP_SERVICE_CREDENTIAL_FILE === undefined), {
    message: 'set BACKUP_API_URL and BACKUP_SERVICE_CREDENTIAL_FILE together (or neither)',
    path: ['BACKUP_API_URL'],
  })
  .refine((e) => (e.BACKUP_ZFS_DATASET === undefined) !== (e.BACKUP_STORAGE_DIR === undefined), {
    message: 'set exactly one of BACKUP_ZFS_DATASET (ZFS store) and BACKUP_STORAGE_DIR (plain directory store)',
    path: ['BACKUP_ZFS_DATASET'],
  });

export type BackupServerConfig = Readonly<z.infer<typeof EnvSchema>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BackupServerConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return Object.freeze(parsed.data);
}
