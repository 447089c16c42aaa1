import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { commandKeyId, parsePinnedPublicKey } from '@xspectre/contracts/command-signature';
import { CommandSigningKeySchema, type CommandSigningKey } from '@xspectre/contracts';
import { ensureDirectory, writeFileAtomic } from './atomic-file.js';
import { AgentError, ExitCode } from './errors.js';

export const DEFAULT_CONFIG_PATH = '/etc/xspectre/agent.conf';
export const DEFAULT_STATE_DIR = '/var/lib/xspectre';

export interface AgentPaths {
  configPath: string;
  stateDir: string;
}

/** Flag first, then environment (`XSPECTRE_CONFIG`, `XSPECTRE_STATE_DIR`), then the defaults. */
export function resolvePaths(flags: { config?: string | undefined; stateDir?: string | undefined }, env: NodeJS.ProcessEnv): AgentPaths {
  const pick = (...candidates: (string | undefined)[]) => candidates.find((c) => c !== undefined && c.trim() !== '');
  return {
    configPath: pick(flags.config, env.XSPECTRE_CONFIG) ?? DEFAULT_CONFIG_PATH,
    stateDir: pick(flags.stateDir, env.XSPECTRE_STATE_DIR) ?? DEFAULT_STATE_DIR,
  };
}

export const HttpUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** The key's material as a KeyObject, or an issue at `path` saying why it cannot be pinned (never the PEM itself). */
function pinnedKey(pem: string, ctx: z.RefinementCtx, path: (string | number)[]) {
  try {
    return parsePinnedPublicKey(pem);
  } catch (err) {
    ctx.addIssue({ code: 'custom', path, message: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}

/**
 * Every pinned command-signing key must be Ed25519 SPKI PEM whose id is its own. A config
 * written before `commandSigningKeys` existed has only `commandSigningPublicKey`: that key
 * becomes the one pinned key, its id computed.
 */
function pinCommandSigningKeys<T extends { commandSigningPublicKey: string; commandSigningKeys?: CommandSigningKey[] | undefined }>(
  config: T,
  ctx: z.RefinementCtx,
): T & { commandSigningKeys: CommandSigningKey[] } {
  const single = pinnedKey(config.commandSigningPublicKey, ctx, ['commandSigningPublicKey']);
  if (config.commandSigningKeys === undefined) {
    return { ...config, commandSigningKeys: single ? [{ keyId: commandKeyId(single), publicKeyPem: config.commandSigningPublicKey }] : [] };
  }
  refinePinnedKeys(config.commandSigningKeys, ctx, ['commandSigningKeys']);
  return { ...config, commandSigningKeys: config.commandSigningKeys };
}

/** Adds an issue under `path` for each key that is not Ed25519 SPKI PEM with its own id (agent.conf, managed.json). */
export function refinePinnedKeys(keys: readonly CommandSigningKey[], ctx: z.RefinementCtx, path: (string | number)[]): void {
  keys.forEach(({ keyId, publicKeyPem }, i) => {
    const key = pinnedKey(publicKeyPem, ctx, [...path, i, 'publicKeyPem']);
    if (key && commandKeyId(key) !== keyId) {
      ctx.addIssue({ code: 'custom', path: [...path, i, 'keyId'], message: 'is not the id of the key beside it' });
    }
  });
}

/** Why a key cannot be pinned (the same checks as at load), or null: for a key that arrives by command (keys.pin). */
export function pinnedKeyProblem(key: CommandSigningKey): string | null {
  let parsed;
  try {
    parsed = parsePinnedPublicKey(key.publicKeyPem);
  } catch (err) {
    return `publicKeyPem: ${err instanceof Error ? err.message : String(err)}`;
  }
  return commandKeyId(parsed) === key.keyId ? null : 'keyId: is not the id of the key beside it';
}

/** A device credential as sent in the bearer header: visible ASCII only. */
export const DeviceCredentialSchema = z.string().regex(/^[\x21-\x7e]{1,4096}$/, 'must be 1-4096 visible ASCII characters');

/** `/etc/xspectre/agent.conf`: written by `enroll` (mode 0600), read by `run` and `status`. */
export const AgentConfigSchema = z
  .object({
    deviceId: z.uuid(),
    deviceName: z.string(),
    apiUrl: HttpUrlSchema,
    /** Sent as a bearer token: visible ASCII only. */
    deviceCredential: DeviceCredentialSchema,
    /** The current key when the device enrolled (the only one in configs written before commandSigningKeys). */
    commandSigningPublicKey: z.string().min(1),
    /** Every key commands may be signed with, as the enroll answer listed them. */
    commandSigningKeys: z.array(CommandSigningKeySchema).min(1).max(16).optional(),
    heartbeatIntervalSeconds: z.number().int().min(5).max(3600),
    protocolVersion: z.number().int().min(1),
    overlayAddress: z.string(),
    overlayPrefixLength: z.number().int(),
    hubEndpoint: z.string(),
    modules: z.object({ docker: z.boolean(), scanner: z.boolean(), backups: z.enum(['off', 'file', 'full', 'hybrid']) }),
    enrolledAt: z.iso.datetime({ offset: true }),
    /** Systemd units reported in every heartbeat (failed units are reported anyway). */
    watchUnits: z
      .array(z.string().regex(/^[A-Za-z0-9:_.@\\-]{1,256}$/, 'must be a systemd unit name'))
      .max(500)
      .optional(),
    /** Scanners: gvmd's GMP socket when neither compose labels nor a gvmd.service find it (agent/src/scanner/discovery.ts). */
    gmpSocketPath: z
      .string()
      .regex(/^\/[^\0]{0,4095}$/, 'must be an absolute path')
      .optional(),
  })
  .transform(pinCommandSigningKeys);
/** As loaded: `commandSigningKeys` always present. */
export type AgentConfig = z.output<typeof AgentConfigSchema>;

/** Validation messages name the fields, never their values (the credential is one of them). */
export function parseAgentConfig(raw: string, path: string): AgentConfig {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new AgentError(ExitCode.LOCAL_ERROR, `agent config ${path} is not valid JSON`);
  }
  const parsed = AgentConfigSchema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AgentError(ExitCode.LOCAL_ERROR, `agent config ${path} is invalid: ${fields}`);
  }
  return parsed.data;
}

export async function loadAgentConfig(path: string): Promise<AgentConfig> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new AgentError(ExitCode.LOCAL_ERROR, `no agent config at ${path}: this device is not enrolled (run xspectre-agent enroll)`);
    throw new AgentError(ExitCode.LOCAL_ERROR, `cannot read agent config ${path}: ${code ?? String(err)}`);
  }
  return parseAgentConfig(raw, path);
}

export async function agentConfigExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the config with mode 0600 (its directory 0700 when created). */
export async function writeAgentConfig(path: string, config: AgentConfig): Promise<void> {
  AgentConfigSchema.parse(config);
  await ensureDirectory(dirname(path));
  await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`, 0o600);
}
