import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CommandActionSchema } from '@xspectre/contracts';
import type { Logger } from '../log.js';

/**
 * The device's local policy: which remote actions this device accepts. Written only by the
 * technician (`bootstrap.sh --allow-actions … --deny-actions …`, or by hand), never by
 * enrollment or by any command, so an operator (or whoever holds the API) cannot widen it.
 */
export const DEFAULT_POLICY_PATH = '/etc/xspectre/policy.json';
const MAX_POLICY_BYTES = 64 * 1024;

/**
 * Actions that neither an absent file nor `*` allows: the policy must name them in `allow`
 * (`script.run`: a script from the library, run as root; `agent.update`: a new executable that
 * runs as root, installed by a transient unit outside the sandbox).
 */
export const REQUIRES_EXPLICIT_ALLOW: ReadonlySet<string> = new Set<string>(['script.run', 'agent.update']);

/**
 * Allowed even by an `allow` list that does not name it; only `deny` (by name or `*`) refuses it.
 * `keys.pin` adds a command key announced by a command signed with a key already pinned: a
 * device that refuses it cannot take any command once the new key signs.
 */
export const ALLOWED_UNLESS_DENIED: ReadonlySet<string> = new Set<string>(['keys.pin']);

const ActionPatternSchema = z.union([z.literal('*'), CommandActionSchema]);

/** `{ allow?: string[], deny?: string[] }`: action names or `*`. Strict: an unknown key is a mistake, not a no-op. */
export const LocalPolicySchema = z.strictObject({
  allow: z.array(ActionPatternSchema).max(256).optional(),
  deny: z.array(ActionPatternSchema).max(256).optional(),
});
export type LocalPolicy = z.infer<typeof LocalPolicySchema>;

export type PolicyDecision = { allowed: true } | { allowed: false; why: string };

/**
 * Deny wins; then an `allow` list, when present, must name the action (or `*`); without one
 * every action is allowed. Actions in REQUIRES_EXPLICIT_ALLOW need their own name in `allow`.
 */
export function decideAction(
  policy: LocalPolicy,
  action: string,
  explicitOnly: ReadonlySet<string> = REQUIRES_EXPLICIT_ALLOW,
): PolicyDecision {
  const named = (list: readonly string[] | undefined) => list?.includes(action) ?? false;
  if (named(policy.deny) || policy.deny?.includes('*')) return { allowed: false, why: 'the deny list names it' };
  if (explicitOnly.has(action)) {
    return named(policy.allow) ? { allowed: true } : { allowed: false, why: 'this action needs an explicit allow' };
  }
  if (ALLOWED_UNLESS_DENIED.has(action)) return { allowed: true };
  if (policy.allow === undefined || named(policy.allow) || policy.allow.includes('*')) return { allowed: true };
  return { allowed: false, why: 'the allow list does not name it' };
}

export type LoadedPolicy = { ok: true; policy: LocalPolicy; absent: boolean } | { ok: false; problem: string };

/** Reads the policy file: absent = the empty policy; unreadable or malformed = a problem (the caller denies everything). */
export async function loadLocalPolicy(path: string): Promise<LoadedPolicy> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: true, policy: {}, absent: true };
    return { ok: false, problem: `cannot read it (${code ?? String(err)})` };
  }
  if (Buffer.byteLength(raw) > MAX_POLICY_BYTES) return { ok: false, problem: `larger than ${MAX_POLICY_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, problem: 'not valid JSON' };
  }
  const parsed = LocalPolicySchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, policy: parsed.data, absent: false };
}

/**
 * The policy as the command loop asks it: read at every command, so a technician's edit applies
 * without a restart. A malformed file denies every action (fail closed) and is logged once per
 * distinct problem, not at every command.
 */
export class LocalPolicyFile {
  private lastProblem: string | undefined;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  async check(action: string): Promise<PolicyDecision> {
    const loaded = await loadLocalPolicy(this.path);
    if (!loaded.ok) {
      if (loaded.problem !== this.lastProblem) {
        this.log.error('local policy is malformed: every remote action is denied until it is fixed', {
          path: this.path,
          problem: loaded.problem,
        });
      }
      this.lastProblem = loaded.problem;
      return { allowed: false, why: `${this.path} is malformed, so every action is denied` };
    }
    this.lastProblem = undefined;
    const decision = decideAction(loaded.policy, action);
    return decision.allowed ? decision : { allowed: false, why: `${this.path}: ${decision.why}` };
  }
}
