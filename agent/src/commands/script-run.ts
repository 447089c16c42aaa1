import { createHash } from 'node:crypto';
import { access, constants, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentScriptResponseSchema, SCRIPT_INTERPRETER_PATHS, ScriptRunParamsSchema } from '@xspectre/contracts';
import type { AgentConfig } from '../config.js';
import { ensureDirectory } from '../atomic-file.js';
import { errorMessage, printable } from '../errors.js';
import { ApiUnreachableError, apiEndpoint, getJson } from '../http.js';
import type { FinalResult, JournalEntry } from './command-journal.js';

/**
 * `script.run`: the signed params name the script by the SHA-256 of its content, its
 * interpreter, its timeout and its arguments; the content itself comes from
 * `GET agent/commands/:id/script` (the API answers it only for this device's script run in
 * progress). The agent checks the content against the signed hash before it writes anything,
 * writes it 0700 into its state directory, and the executor runs it as a transient unit
 * (`<interpreter> <file> <args...>`, RuntimeMaxSec = the timeout). The file is removed with the
 * command's output files once the result is in the journal (CommandExecutor.cleanup).
 */
export const SCRIPT_RUN = 'script.run';
export const HASH_MISMATCH_REASON = 'script content does not match the signed SHA-256';
export const SCRIPT_FETCH_TIMEOUT_MS = 30_000;
/** Attempts to fetch the script when the API cannot be reached (then the run fails: the command was already reported running). */
export const SCRIPT_FETCH_ATTEMPTS = 3;
/** After RuntimeMaxSec, systemd sends SIGTERM and waits TimeoutStopSec (90 s by default) before SIGKILL: the agent waits past that. */
export const SCRIPT_STOP_MARGIN_MS = 3 * 60_000;

/** What the API answered for a script: its bytes, or why there are none (`retry`: worth asking again). */
export type ScriptFetch = { ok: true; content: Buffer } | { ok: false; reason: string; retry: boolean };

export interface ScriptHost {
  fetch(commandId: string, signal: AbortSignal): Promise<ScriptFetch>;
  /** The interpreter exists and is executable. */
  executable(path: string): Promise<boolean>;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

type ApiAccess = Pick<AgentConfig, 'apiUrl' | 'deviceCredential'>;

/** `GET agent/commands/:id/script` with the device credential, over node:http (getJson). */
export function httpScriptFetch(config: ApiAccess): ScriptHost['fetch'] {
  return async (commandId, signal) => {
    const url = apiEndpoint(config.apiUrl, `agent/commands/${commandId}/script`);
    let response;
    try {
      response = await getJson(url, { timeoutMs: SCRIPT_FETCH_TIMEOUT_MS, bearer: config.deviceCredential, signal });
    } catch (err) {
      if (err instanceof ApiUnreachableError) return { ok: false, reason: err.reason, retry: true };
      throw err;
    }
    if (response.status !== 200) {
      const problem = response.problem;
      const why = problem ? `${printable(problem.code, 80)}: ${printable(problem.detail || problem.title)}` : 'no problem description';
      return { ok: false, reason: `HTTP ${response.status} ${why}`, retry: response.status >= 500 || response.status === 429 };
    }
    const answer = AgentScriptResponseSchema.safeParse(response.body);
    if (!answer.success || answer.data.commandId !== commandId) {
      return { ok: false, reason: 'the answer does not follow the contract', retry: false };
    }
    return { ok: true, content: Buffer.from(answer.data.contentBase64, 'base64') };
  };
}

export function hostScriptHost(config: ApiAccess, sleep: ScriptHost['sleep']): ScriptHost {
  return {
    fetch: httpScriptFetch(config),
    executable: (path) =>
      access(path, constants.X_OK).then(
        () => true,
        () => false,
      ),
    sleep,
  };
}

/** Where the script of a command is written (an absolute directory of the agent's state). */
export function scriptFile(dir: string, commandId: string): string {
  return join(dir, commandId);
}

/** How long the executor waits for a script's unit: its timeout, then systemd's stop, then some. */
export function scriptWaitMs(params: Record<string, unknown>, otherwise: number): number {
  const parsed = ScriptRunParamsSchema.safeParse(params);
  return parsed.success ? Math.max(otherwise, parsed.data.timeoutSeconds * 1000 + SCRIPT_STOP_MARGIN_MS) : otherwise;
}

/** What the transient unit runs, or the result that ends the command without running anything. */
export type PreparedScript =
  { kind: 'run'; command: string[]; runtimeMaxSec: number } | { kind: 'done'; result: FinalResult } | { kind: 'aborted' };

const failed = (reason: string): PreparedScript => ({ kind: 'done', result: { status: 'failed', reason: reason.slice(0, 500) } });

/**
 * Fetches the script of a started `script.run`, checks its SHA-256 against the signed params and
 * writes it. A hash mismatch is `failed` (not `rejected`: the command was verified and reported
 * running; it is the fetched content that is not what was signed) and nothing is written or run.
 */
export async function prepareScript(entry: JournalEntry, host: ScriptHost, dir: string, signal: AbortSignal): Promise<PreparedScript> {
  const params = ScriptRunParamsSchema.safeParse(entry.params);
  if (!params.success) return failed('the script run parameters are not valid');
  const { sha256, interpreter, timeoutSeconds, args } = params.data;
  const interpreterPath = SCRIPT_INTERPRETER_PATHS[interpreter];
  if (!(await host.executable(interpreterPath))) return failed(`the interpreter ${interpreterPath} is not installed on this device`);

  let fetched: ScriptFetch | undefined;
  for (let attempt = 1; attempt <= SCRIPT_FETCH_ATTEMPTS; attempt++) {
    if (attempt > 1) await host.sleep(2000 * 2 ** (attempt - 2), signal);
    if (signal.aborted) return { kind: 'aborted' };
    try {
      fetched = await host.fetch(entry.commandId, signal);
    } catch (err) {
      fetched = { ok: false, reason: errorMessage(err), retry: false };
    }
    if (fetched.ok || !fetched.retry) break;
  }
  if (signal.aborted) return { kind: 'aborted' };
  if (!fetched!.ok) return failed(`cannot fetch the script: ${fetched!.reason}`);
  const content = fetched!.content;
  if (createHash('sha256').update(content).digest('hex') !== sha256) return failed(HASH_MISMATCH_REASON);

  await ensureDirectory(dir);
  const path = scriptFile(dir, entry.commandId);
  await rm(path, { force: true });
  // 0700 and created here ('wx'): root reads and runs it; nobody else can read or swap it.
  const handle = await open(path, 'wx', 0o700);
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return { kind: 'run', command: [interpreterPath, path, ...args], runtimeMaxSec: timeoutSeconds };
}

export async function removeScript(dir: string, commandId: string): Promise<void> {
  await rm(scriptFile(dir, commandId), { force: true });
}
