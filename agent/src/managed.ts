import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  CommandSigningKeySchema,
  MANAGED_HEARTBEAT_MAX_SECONDS,
  MANAGED_HEARTBEAT_MIN_SECONDS,
  MANAGED_WATCH_UNITS_MAX,
  WatchUnitSchema,
  type CommandSigningKey,
} from '@xspectre/contracts';
import { ensureDirectory, writeFileAtomic } from './atomic-file.js';
import { DeviceCredentialSchema, refinePinnedKeys, type AgentConfig } from './config.js';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

/**
 * API-managed settings: `<state dir>/managed.json` (the state directory is writable under the
 * agent's sandbox; /etc/xspectre is not), written only by the agent itself when a signed command
 * changes a setting (settings.apply, credential.rotate, keys.pin), atomically and 0600. Layered
 * over agent.conf at load: each setting present here wins over agent.conf's. The local policy
 * (/etc/xspectre/policy.json) is never here and never written by the agent.
 */
export const MANAGED_FILE = 'managed.json';
export const MAX_PINNED_KEYS = 16;

const CommandId = z.uuid();

/**
 * A credential rotation in progress (agent/src/commands/credential-rotation.ts), kept so a crash
 * at any step resumes it: `generated` (the new credential made and kept here, maybe sent; the old
 * one still in use), `switched` (the new one in use, the old one kept until a request with the
 * new one succeeds), `confirmed` (done; nothing secret kept).
 */
export const CredentialRotationSchema = z.discriminatedUnion('stage', [
  z.strictObject({ stage: z.literal('generated'), commandId: CommandId, credential: DeviceCredentialSchema }),
  z.strictObject({ stage: z.literal('switched'), commandId: CommandId, previousCredential: DeviceCredentialSchema }),
  z.strictObject({ stage: z.literal('confirmed'), commandId: CommandId }),
]);
export type CredentialRotation = z.infer<typeof CredentialRotationSchema>;

export const ManagedFileSchema = z
  .strictObject({
    v: z.literal(1),
    /** agent.conf's `enrolledAt` when written: a file of an earlier enrollment never overrides a new one. */
    enrolledAt: z.iso.datetime({ offset: true }).optional(),
    deviceCredential: DeviceCredentialSchema.optional(),
    /** Every pinned key, when a command changed the list (agent.conf's list otherwise). */
    commandSigningKeys: z.array(CommandSigningKeySchema).min(1).max(MAX_PINNED_KEYS).optional(),
    heartbeatIntervalSeconds: z.number().int().min(MANAGED_HEARTBEAT_MIN_SECONDS).max(MANAGED_HEARTBEAT_MAX_SECONDS).optional(),
    watchUnits: z.array(WatchUnitSchema).max(MANAGED_WATCH_UNITS_MAX).optional(),
    credentialRotation: CredentialRotationSchema.optional(),
  })
  .superRefine((file, ctx) => {
    if (file.commandSigningKeys) refinePinnedKeys(file.commandSigningKeys, ctx, ['commandSigningKeys']);
  });
export type ManagedFile = z.infer<typeof ManagedFileSchema>;

/** The settings managed.json may override in agent.conf. */
const MANAGED_KEYS = ['deviceCredential', 'commandSigningKeys', 'heartbeatIntervalSeconds', 'watchUnits'] as const;
type ManagedKey = (typeof MANAGED_KEYS)[number];

export type LoadedManaged = { file: ManagedFile; warning?: string };

/** Reads managed.json: absent = no overrides; unreadable, not JSON or invalid = no overrides and a warning (never a crash loop). */
export async function loadManagedFile(path: string): Promise<LoadedManaged> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { file: { v: 1 } };
    return { file: { v: 1 }, warning: `cannot read ${path} (${errorMessage(err)}): agent.conf's settings apply` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { file: { v: 1 }, warning: `${path} is not valid JSON: agent.conf's settings apply` };
  }
  const parsed = ManagedFileSchema.safeParse(json);
  if (!parsed.success) {
    // Field names only: the file holds the credential.
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { file: { v: 1 }, warning: `${path} is invalid (${fields}): agent.conf's settings apply` };
  }
  return { file: parsed.data };
}

/**
 * The agent's settings as agent.conf and managed.json give them together, changed at run time
 * by commands. `config` is a live view: every read of a managed setting answers the newest value,
 * so the heartbeat and command clients pick up a rotated credential at their next request. The
 * pinned keys are one array, changed in place, which the command loop verifies against.
 */
export class ManagedSettings {
  readonly config: AgentConfig;
  private readonly pinned: CommandSigningKey[];

  private constructor(
    readonly path: string,
    private readonly base: AgentConfig,
    private file: ManagedFile,
  ) {
    this.pinned = [...(file.commandSigningKeys ?? base.commandSigningKeys)];
    this.config = new Proxy(base, {
      get: (target, key, receiver) => {
        if (key === 'commandSigningKeys') return this.pinned;
        if (typeof key === 'string' && (MANAGED_KEYS as readonly string[]).includes(key)) {
          const value = this.file[key as ManagedKey];
          if (value !== undefined) return value;
        }
        return Reflect.get(target, key, receiver);
      },
    });
  }

  /** Loads managed.json from the state directory; a damaged file is logged and ignored (agent.conf applies). */
  static async open(stateDir: string, base: AgentConfig, log: Pick<Logger, 'warn'>): Promise<ManagedSettings> {
    const path = join(stateDir, MANAGED_FILE);
    const loaded = await loadManagedFile(path);
    if (loaded.warning) log.warn(loaded.warning);
    // Enrolled again since (enroll writes a new agent.conf: new credential, new keys): its settings start afresh.
    if (loaded.file.enrolledAt !== undefined && loaded.file.enrolledAt !== base.enrolledAt) {
      log.warn(`${path} was written for an earlier enrollment: ignored until a command writes it again`);
      return new ManagedSettings(path, base, { v: 1 });
    }
    return new ManagedSettings(path, base, loaded.file);
  }

  /** As it is on disk (or would be: the defaults when there is no file). */
  get current(): ManagedFile {
    return this.file;
  }

  /** The pinned command keys, live (the same array across updates). */
  get pinnedKeys(): readonly CommandSigningKey[] {
    return this.pinned;
  }

  /** The heartbeat interval a command set, which wins over the API's ack; undefined when none was set. */
  get heartbeatIntervalOverride(): number | undefined {
    return this.file.heartbeatIntervalSeconds;
  }

  /** Writes the changed file (validated, atomically, 0600), then applies it in memory: a failed write changes nothing. */
  async update(change: (file: ManagedFile) => ManagedFile): Promise<ManagedFile> {
    const next = ManagedFileSchema.parse({ ...change(structuredClone(this.file)), enrolledAt: this.base.enrolledAt });
    await ensureDirectory(join(this.path, '..'));
    await writeFileAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`, 0o600);
    this.file = next;
    this.pinned.splice(0, this.pinned.length, ...(next.commandSigningKeys ?? this.base.commandSigningKeys));
    return next;
  }
}
