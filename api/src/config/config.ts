import { z } from 'zod';
import { SCANNER_RESTART_GRACE_SECONDS } from '@xspectre/contracts';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const secondsOrMs = z.coerce.number().int().min(0);

/** `scheme://host[:port]` entries, as browsers send them in `Origin` (no path, no trailing slash). */
function parseOrigins(value: string, ctx: z.RefinementCtx): readonly string[] {
  const origins = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    // Exact matches only: a "*" would read like a wildcard but could never match.
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin || parsed.hostname.includes('*')) {
      ctx.addIssue({
        code: 'custom',
        message: `"${origin.slice(0, 100)}" is not an origin like https://console.example.com or http://localhost:3001`,
      });
    }
  }
  return Object.freeze(origins);
}

/** Days of raw heartbeat rows kept; also how many days of rows the HeartbeatRetention migration moves. */
export const DEFAULT_HEARTBEAT_RETENTION_DAYS = 7;

const DbUrlSchema = z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' });

/** A metrics listener: `host:port` (IPv6 in brackets); port 0 takes any free one (tests). */
const MetricsListenSchema = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9464 ([::1]:9464 for IPv6)')
  .transform((v, ctx) => {
    const at = v.lastIndexOf(':');
    const port = Number(v.slice(at + 1));
    if (port > 65535) ctx.addIssue({ code: 'custom', message: 'port must be 0-65535' });
    return { host: v.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port };
  });

/** Every setting the API reads, parsed once at boot. Nothing else reads process.env. */
const EnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
    API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    API_HOST: z.string().default('127.0.0.1'),
    DB_URL: DbUrlSchema,
    // Two pools per API process (db/database.ts): operators' requests and background work on one,
    // agent requests and heartbeat group commits on the other, so reads never hold up ingestion.
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(8).describe("connections for operators' requests and background work"),
    DB_DEVICE_POOL_SIZE: z.coerce
      .number()
      .int()
      .min(1)
      .max(200)
      .default(6)
      .describe('connections for agent requests and heartbeat group commits (the API only; the worker has one pool)'),
    DB_STATEMENT_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .default(5_000)
      .describe("longest statement of an operator's request in the API (0 = none); the worker and ingestion are not bounded"),
    DB_WAIT_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('how long the API and worker wait at boot for PostgreSQL and its migrated schema; 0 = forever'),
    // Migrations run as the schema owner; the API and worker connect as DB_URL's role, which owns nothing (db/migrations/*AppRole*).
    DB_OWNER_URL: DbUrlSchema.optional().describe('the schema owner, for migrations only; unset = DB_URL'),
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// URL' }),
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[a-z0-9:_-]{1,40}$/i, 'letters, digits, ":", "_" or "-"')
      .default('xs:'),
    API_SECRET_KEY: z.string().min(32, 'must be at least 32 characters of random data (e.g. `openssl rand -base64 48`)'),
    // Secret rotation (api/README.md, "Rotating secrets"): the old key, still accepted for verifying and unsealing; unset = no rotation under way.
    API_SECRET_KEY_PREVIOUS: z
      .string()
      .min(32, 'must be the previous API_SECRET_KEY (at least 32 characters)')
      .optional()
      .describe('the API_SECRET_KEY before a rotation, accepted for verification until dropped'),
    API_PUBLIC_URL: z.url().default('http://127.0.0.1:3000'),
    API_TRUST_PROXY: z
      .string()
      .default('loopback')
      // `true` would believe the left-most X-Forwarded-For entry, which any client writes itself.
      .refine((v) => v.trim() !== 'true', 'list the proxies (addresses/CIDRs, loopback, linklocal, uniquelocal) instead of true')
      .describe('whose X-Forwarded-For is believed: false, or a list of addresses/CIDRs'),
    // Bootstrap over TLS with a private CA (infra/proxy/README.md): the one-liner pins the proxy's key.
    API_BOOTSTRAP_PIN: z
      .string()
      .regex(
        /^sha256\/\/[A-Za-z0-9+/]{43}=$/,
        "must be sha256// and the base64 SHA-256 of the server key's SubjectPublicKeyInfo (infra/proxy/private-ca.mjs prints it)",
      )
      .optional()
      .describe("the proxy certificate's public-key pin the bootstrap one-liner passes to curl --pinnedpubkey"),
    API_BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    API_COOKIE_SECURE: bool.default(true),
    API_ACCESS_TOKEN_TTL_SECONDS: secondsOrMs.min(30).max(3600).default(600),
    API_REFRESH_TOKEN_TTL_SECONDS: secondsOrMs.min(300).default(7 * 24 * 3600),
    API_SESSION_MAX_AGE_SECONDS: secondsOrMs.min(300).default(30 * 24 * 3600),
    API_MFA_TOKEN_TTL_SECONDS: secondsOrMs.min(30).max(900).default(300),
    API_STEP_UP_TTL_SECONDS: secondsOrMs.min(30).max(3600).default(300),
    API_BCRYPT_COST: z.coerce.number().int().min(10).max(15).default(12),
    API_LOGIN_BACKOFF_AFTER: z.coerce.number().int().min(1).max(10).default(5),
    API_LOGIN_LOCK_AFTER: z.coerce.number().int().min(2).max(10).default(10),
    API_LOGIN_BACKOFF_BASE_MS: secondsOrMs.max(3_600_000).default(15_000),
    API_LOGIN_RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(60).describe('login attempts per source IP per 5 minutes'),
    API_BOOTSTRAP_ADMIN_EMAIL: z.email().optional(),
    API_BOOTSTRAP_ADMIN_PASSWORD: z.string().min(12).optional(),
    API_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    API_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
    API_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    // Audit trail: failure rows per source address, and where the chain's signed checkpoints are kept.
    API_AUDIT_FAILURES_PER_IP: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(60)
      .describe('failed requests recorded one by one per source address per minute; beyond, one summary row'),
    API_AUDIT_ANCHOR_DIR: z
      .string()
      .min(1)
      .refine((v) => !v.includes('\0'), 'must be a directory path')
      .default('var/audit-anchors')
      .describe('directory of the signed audit checkpoints (append-only JSON lines); keep it out of the database role’s reach'),
    // Signing keys (api/src/keys/key-store.ts): files, never in the database.
    API_KEY_STORE_DIR: z
      .string()
      .min(1)
      .refine((v) => !v.includes('\0'), 'must be a directory path')
      .default('var/keys')
      .describe('directory of the signing keys, one sub-directory per purpose (0700, files 0600); every API instance mounts the same one'),
    // Fleet: claim codes, enrollment, the overlay and the hub.
    API_CLAIM_CODE_TTL_SECONDS: secondsOrMs
      .min(300)
      .max(7 * 24 * 3600)
      .default(24 * 3600),
    API_ENROLL_RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(30).describe('enrollment attempts per source IP per 10 minutes'),
    API_OVERLAY_CIDR: z.string().default('10.10.0.0/24'),
    API_OVERLAY_HUB_ADDRESS: z.string().default('10.10.0.1'),
    API_OVERLAY_POOL_INTERNAL: z.string().optional().describe('first-last, e.g. 10.10.0.10-10.10.0.19'),
    API_OVERLAY_POOL_CUSTOMER: z.string().optional(),
    API_OVERLAY_POOL_RESERVED: z.string().optional(),
    API_OVERLAY_POOL_RECOVERY: z.string().optional(),
    API_OVERLAY_QUARANTINE_SECONDS: secondsOrMs.default(7 * 24 * 3600),
    API_WG_INTERFACE: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be a network interface name')
      .optional()
      .describe('the hub interface; unset = this instance drives no hub'),
    API_WG_NETNS: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a network namespace name')
      .optional(),
    API_WG_ENDPOINT: z
      .string()
      .regex(/^[A-Za-z0-9.:[\]-]+:\d{1,5}$/, 'must be host:port')
      .default('127.0.0.1:51820')
      .describe('where devices reach the hub on the underlay'),
    API_WG_PERSISTENT_KEEPALIVE_SECONDS: z.coerce.number().int().min(1).max(600).default(25),
    API_WG_RECONCILE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    API_HUB_REQUEST_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(120_000)
      .default(10_000)
      .describe('how long an instance that drives no hub waits for the one that does (probe, apply) before HUB_UNAVAILABLE'),
    API_AGENT_API_URL: z.url().default('http://10.10.0.1:3000/api/v1').describe('the API as devices reach it over the overlay'),
    API_BACKUP_SERVER_URL: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .default('http://10.10.0.1:8420')
      .describe("the backup server's restic front as devices reach it over the overlay (backup-server/)"),
    API_BACKUP_TOKEN_SECONDS: z.coerce.number().int().min(60).max(900).default(600).describe('lifetime of a repository token'),
    API_DISK_IMAGE_RECOVERY_WAIT_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(24 * 3600)
      .default(1800)
      .describe(
        'how long a full-disk image or restore job waits for the recovery stick to register (or the normal agent to return) before it fails',
      ),
    // Recovery media (api/src/recovery): the generic stick image built by recovery-usb/build.sh, personalised per stick.
    API_RECOVERY_IMAGE: z
      .string()
      .min(1)
      .refine((v) => !v.includes('\0'), 'must be a file path')
      .optional()
      .describe(
        'the generic recovery stick image (recovery-usb/build.sh --out DIR writes DIR/xspectre-recovery.img); unset = creating recovery media answers RECOVERY_IMAGE_NOT_BUILT',
      ),
    API_RECOVERY_MEDIA_DIR: z
      .string()
      .min(1)
      .refine((v) => !v.includes('\0'), 'must be a directory path')
      .default('var/recovery-media')
      .describe(
        'private directory (0700, files 0600) of the personalised stick images while they can be downloaded: they hold the stick secrets',
      ),
    API_RECOVERY_DOWNLOAD_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(24 * 3600)
      .default(3600)
      .describe('how long a personalised recovery image can be downloaded after it was created; then it is deleted'),
    API_AGENT_HEARTBEAT_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
    API_SCANNER_RESTART_GRACE_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(SCANNER_RESTART_GRACE_SECONDS)
      .describe('after a core Greenbone container (re)started, the scanner checks that depend on it hold this long'),
    API_AGENT_DIST_DIR: z.string().optional().describe('folder with bootstrap.sh, xspectre-agent and xspectre-agent.sha256'),
    API_RESTIC_BINARY: z
      .string()
      .regex(/^\//, 'must be an absolute path')
      .default('/usr/bin/restic')
      .describe("the static restic executable served to devices whose distribution has none (Debian's is a static Go build)"),
    API_AGENT_BUILDS_DIR: z
      .string()
      .optional()
      .describe('folder of further agent builds for agent.update: one folder per build with xspectre-agent and xspectre-agent.build.json'),
    API_AGENT_SOURCE_CHECK: bool.default(true).describe('agent requests must come from the device overlay address'),
    // Raw samples serve charts with steps under a minute (at most 2,000 points: hours, not weeks)
    // and cost ~600 MiB per 1,000 devices per day; longer charts read the rollups.
    API_METRICS_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(2)
      .max(3650)
      .default(8)
      .describe('raw metric samples older than this are dropped (whole days)'),
    API_METRIC_ROLLUPS_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(8)
      .max(3650)
      .default(400)
      .describe('1-hour metric rollups older than this are dropped (charts of weeks and months read them)'),
    API_HEARTBEAT_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(DEFAULT_HEARTBEAT_RETENTION_DAYS)
      .describe('raw heartbeat rows older than this are dropped (whole days); replays stay duplicates'),
    // Heartbeat ingestion: requests are written together in group commits.
    API_HEARTBEAT_BATCH_MAX: z.coerce.number().int().min(1).max(5000).default(500).describe('heartbeats per group commit'),
    API_HEARTBEAT_WRITERS: z.coerce.number().int().min(1).max(16).default(2).describe('group commits in flight at once'),
    API_HEARTBEAT_QUEUE_MAX: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(20_000)
      .describe('heartbeats waiting to be written before agents are told to retry later (503)'),
    API_DEVICE_AUTH_CACHE_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(300)
      .describe('how long a verified device credential is remembered (every write re-checks that the device is active)'),
    // Live updates (GET /api/v1/live, a WebSocket).
    API_CONSOLE_ORIGINS: z
      .string()
      .default('http://localhost:3001,http://127.0.0.1:3001')
      .transform((value, ctx) => parseOrigins(value, ctx))
      .describe('browser origins allowed to open the live WebSocket, comma-separated'),
    API_LIVE_SESSION_RECHECK_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    API_LIVE_PING_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
    API_LIVE_MAX_BUFFERED_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('a connection whose unsent data exceeds this is closed (1013)'),
    // Alert delivery (api/src/alert-delivery): retries of a failing message, per delivery row.
    API_ALERT_DELIVERY_BACKOFF_MS: z.coerce
      .number()
      .int()
      .min(10)
      .max(3_600_000)
      .default(10_000)
      .describe('delay before the second attempt of a failing alert delivery; doubles with every attempt'),
    API_ALERT_DELIVERY_BACKOFF_MAX_MS: z.coerce
      .number()
      .int()
      .min(10)
      .max(24 * 3_600_000)
      .default(15 * 60_000)
      .describe('longest delay between two attempts of an alert delivery'),
    API_ALERT_DELIVERY_MAX_ATTEMPTS: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(20)
      .describe('attempts before an alert delivery is dead (the dead-letter list; an operator retries it)'),
    API_CONSOLE_URL: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .optional()
      .describe(
        'the console as operators reach it: links in BetterStack incidents and webhooks, and the base of the SSO callback URLs; unset = no links, no SSO',
      ),
    // Single sign-on (api/src/sso).
    API_SSO_CLOCK_SKEW_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(300)
      .default(60)
      .describe('how far an identity provider’s clock may be off (SAML validity window, OIDC iat / auth_time)'),
    API_SSO_HTTP_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(10_000)
      .describe('requests to identity providers (metadata, discovery, keys, token endpoint)'),
    // Terminal and file sessions over SSH (api/src/remote-access, api/docs/remote-access.md).
    API_REMOTE_ACCESS: z
      .enum(['on', 'off'])
      .default('on')
      .describe('off on instances that are not on a hub host: they cannot reach devices and refuse terminal and file sessions'),
    API_SSH_SOURCE_ADDRESS: z
      .ipv4()
      .optional()
      .describe("the address SSH sessions leave from and the certificates' source-address; default API_OVERLAY_HUB_ADDRESS"),
    API_SSH_PORT: z.coerce.number().int().min(1).max(65535).default(22).describe("the devices' sshd port on their overlay address"),
    API_SSH_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(15_000),
    API_SSH_CERT_VALIDITY_SECONDS: z.coerce
      .number()
      .int()
      .min(30)
      .max(3600)
      .default(300)
      .describe('how long a session certificate may be used to log in (a login in progress is not cut by its expiry)'),
    API_TERMINAL_TICKET_SECONDS: z.coerce.number().int().min(5).max(300).default(30),
    API_TERMINAL_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
    API_TERMINAL_MAX_DURATION_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(8 * 3600),
    API_TERMINAL_MAX_PER_USER: z.coerce.number().int().min(1).max(100).default(10).describe('open terminals per operator on this instance'),
    API_TERMINAL_RECORDINGS_DIR: z
      .string()
      .min(1)
      .refine((v) => !v.includes('\0'), 'must be a directory path')
      .default('var/recordings')
      .describe('asciicast v2 recordings of terminal sessions (directory 0700, files 0600)'),
    API_TERMINAL_RECORD_INPUT: bool.default(true).describe('record keystrokes as well as output (policy: false records output only)'),
    API_TERMINAL_RECORDING_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
    API_FILES_SESSION_IDLE_SECONDS: z.coerce
      .number()
      .int()
      .min(10)
      .max(3600)
      .default(300)
      .describe("how long an operator's SFTP connection to a device stays open without use"),
    API_FILES_MAX_UPLOAD_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(1024 ** 4)
      .default(10 * 1024 ** 3),
    // Prometheus scrapes (api/src/metrics): a listener of its own, never the public API port.
    API_METRICS_LISTEN: MetricsListenSchema.optional().describe("the API's /metrics listener, host:port (unset = none)"),
    WORKER_METRICS_LISTEN: MetricsListenSchema.optional().describe("the worker's /metrics listener, host:port (unset = none)"),
  })
  .refine((e) => e.API_LOGIN_LOCK_AFTER > e.API_LOGIN_BACKOFF_AFTER, {
    message: 'API_LOGIN_LOCK_AFTER must be greater than API_LOGIN_BACKOFF_AFTER',
    path: ['API_LOGIN_LOCK_AFTER'],
  })
  .refine((e) => e.API_ALERT_DELIVERY_BACKOFF_MAX_MS >= e.API_ALERT_DELIVERY_BACKOFF_MS, {
    message: 'API_ALERT_DELIVERY_BACKOFF_MAX_MS must not be below API_ALERT_DELIVERY_BACKOFF_MS',
    path: ['API_ALERT_DELIVERY_BACKOFF_MAX_MS'],
  })
  .refine((e) => (e.API_BOOTSTRAP_ADMIN_EMAIL === undefined) === (e.API_BOOTSTRAP_ADMIN_PASSWORD === undefined), {
    message: 'set both API_BOOTSTRAP_ADMIN_EMAIL and API_BOOTSTRAP_ADMIN_PASSWORD, or neither',
    path: ['API_BOOTSTRAP_ADMIN_PASSWORD'],
  })
  .refine((e) => e.API_SECRET_KEY_PREVIOUS !== e.API_SECRET_KEY, {
    message: 'API_SECRET_KEY_PREVIOUS equals API_SECRET_KEY: set API_SECRET_KEY to the new key, or unset API_SECRET_KEY_PREVIOUS',
    path: ['API_SECRET_KEY_PREVIOUS'],
  });

export type AppConfig = Readonly<z.infer<typeof EnvSchema>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** Parses the environment; throws listing every bad key at once. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return Object.freeze(result.data);
}

/** For entry points: a bad environment prints every problem and exits 2 (no stack trace). */
export function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
}

/** Just the database URL the migrate script needs: the owner's (DB_OWNER_URL), else DB_URL. */
export function loadDatabaseUrl(env: Record<string, string | undefined> = process.env): string {
  const result = z.object({ DB_URL: DbUrlSchema, DB_OWNER_URL: DbUrlSchema.optional() }).safeParse(env);
  if (!result.success) throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return result.data.DB_OWNER_URL ?? result.data.DB_URL;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
