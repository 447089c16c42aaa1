import { createHash } from 'node:crypto';
import { chmod, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_EXECUTABLE_MAX_BYTES, AGENT_UPDATE_HEALTH_SECONDS, AgentUpdateParamsSchema } from '@xspectre/contracts';
import type { AgentConfig } from '../config.js';
import { ensureDirectory, writeFileAtomic } from '../atomic-file.js';
import { httpModule, httpsModule } from '../builtins.js';
import { errorMessage } from '../errors.js';
import { apiEndpoint } from '../http.js';
import type { Logger } from '../log.js';
import { AGENT_VERSION } from '../version.js';
import type { FinalResult, JournalEntry } from './command-journal.js';

/**
 * `agent.update`: the signed params name a build (version, build id) and the exact bytes of its
 * executable (SHA-256, size). The agent
 *   1. downloads the executable from its own API (`GET agent/commands/:id/agent-build`, over the
 *      tunnel, node:http) into its state directory, bounded by the signed size, hashing as it
 *      writes; a different SHA-256 or size fails the command, and nothing is swapped;
 *   2. writes SWAP_SCRIPT (below) into the state directory and the executor runs it as the
 *      transient unit xspectre-cmd-<id> (`/bin/sh <file> <args...>`): outside the agent's
 *      sandbox, where /usr/local/bin is writable, and outside its cgroup, so it outlives the
 *      restart it causes. The script keeps the running executable as `xspectre-agent.previous`,
 *      renames the new one into place (same directory: an atomic rename), restarts the agent and
 *      waits up to AGENT_UPDATE_HEALTH_SECONDS for the new build's id in the health file, which
 *      an agent writes after its first acknowledged heartbeat (markHealthy); otherwise it puts
 *      the previous executable back and restarts again. It writes the outcome to a file;
 *   3. whichever agent runs after the restart (the new build, or the previous one after a roll
 *      back) finds the command started in its journal, waits for the unit (executor.resume) and
 *      reports the outcome once (updateResult).
 */
export const AGENT_UPDATE = 'agent.update';
export const INSTALL_PATH = '/usr/local/bin/xspectre-agent';
export const AGENT_SERVICE = 'xspectre-agent.service';
export const UPDATE_DIR = 'update';
export const HEALTH_FILE = 'health';
export const DOWNLOAD_TIMEOUT_MS = 15 * 60_000;
export const DOWNLOAD_ATTEMPTS = 3;
/** The swap unit's RuntimeMaxSec: the health window plus two restarts (TimeoutStopSec 20 s each) and the copies, with room. */
export const SWAP_RUNTIME_MAX_SEC = 600;
export const HASH_MISMATCH_REASON = 'the downloaded executable does not match the signed SHA-256';
export const rolledBackReason = (seconds: number) => `rolled back: the new build did not report within ${seconds} s`;

/**
 * Run by PID 1 as `/bin/sh swap.sh TARGET NEW HEALTH BUILD OUTCOME SECONDS UNIT OLD`. Arguments are
 * only ever quoted expansions; the outcome file gets `key=value` lines that updateResult reads.
 */
export const SWAP_SCRIPT = `#!/bin/sh
# xSPECTRE agent update (agent/src/commands/agent-update.ts writes this file and runs it as a
# transient unit): swap the executable, restart the agent, wait for the new build to report,
# else put the previous executable back.
set -u
target=$1 new=$2 health=$3 build=$4 outcome=$5 seconds=$6 unit=$7 old=$8
dir=$(dirname -- "$target")
staged="$dir/.xspectre-agent.new"
previous="$target.previous"

say() { printf 'agent update: %s\\n' "$*"; }
finish() {
  printf 'result=%s\\nold=%s\\nnew=%s\\nreason=%s\\n' "$1" "$old" "$build" "$2" > "$outcome.tmp" && mv -f -- "$outcome.tmp" "$outcome"
}

# Staged beside the target, so that the swap is a rename within one file system.
rm -f -- "$staged"
if ! cp -- "$new" "$staged" || ! chmod 0755 -- "$staged"; then
  rm -f -- "$staged"; finish failed "cannot copy the new executable into $dir"; exit 1
fi
# The running executable stays as .previous (a hard link: no copy, the same bytes).
rm -f -- "$previous"
if ! ln -- "$target" "$previous" 2>/dev/null && ! cp -p -- "$target" "$previous"; then
  rm -f -- "$staged"; finish failed "cannot keep the previous executable as $previous"; exit 1
fi
rm -f -- "$health"
if ! mv -f -- "$staged" "$target"; then
  rm -f -- "$staged"; finish failed "cannot move the new executable into place"; exit 1
fi
say "installed build $build (previous build $old kept as $previous); restarting $unit"
systemctl restart -- "$unit" || say "systemctl restart $unit failed (exit $?)"

waited=0
while [ "$waited" -lt "$seconds" ]; do
  if [ -f "$health" ] && [ "$(cat -- "$health" 2>/dev/null)" = "$build" ]; then
    say "build $build reported after about $waited s"
    finish succeeded ""
    exit 0
  fi
  sleep 1
  waited=$((waited + 1))
done

say "build $build did not report within $seconds s: restoring the previous executable"
rm -f -- "$staged"
if ln -- "$previous" "$staged" 2>/dev/null || cp -p -- "$previous" "$staged"; then
  mv -f -- "$staged" "$target" || say "cannot move the previous executable back"
else
  say "cannot stage the previous executable"
fi
systemctl restart -- "$unit" || say "systemctl restart $unit failed (exit $?)"
finish rolled-back "$seconds"
exit 1
`;

/** What the API answered for the executable: written to `path` with this SHA-256 and size, or why not (`retry`: worth asking again). */
export type Download = { ok: true; sha256: string; size: number } | { ok: false; reason: string; retry: boolean };

export interface UpdateHost {
  /** Downloads the command's executable into `path` (mode 0600), at most `maxBytes`. */
  download(commandId: string, path: string, maxBytes: number, signal: AbortSignal): Promise<Download>;
  /** The build id of the running agent (null outside a built executable) and the path it runs from. */
  running(): { buildId: string | null; execPath: string };
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface UpdateOptions {
  host: UpdateHost;
  /** Absolute: `<state dir>/commands/update`. */
  dir: string;
  /** Where bootstrap.sh installed the executable (default INSTALL_PATH). */
  installPath?: string;
  healthSeconds?: number;
}

type ApiAccess = Pick<AgentConfig, 'apiUrl' | 'deviceCredential'>;

/**
 * `GET agent/commands/:id/agent-build` streamed into `path` over node:http (no fetch: see
 * http.ts), hashed as it is written, cut off past `maxBytes` (the signed size).
 */
export function httpDownload(config: ApiAccess, timeoutMs = DOWNLOAD_TIMEOUT_MS): UpdateHost['download'] {
  return async (commandId, path, maxBytes, outer) => {
    const url = new URL(apiEndpoint(config.apiUrl, `agent/commands/${commandId}/agent-build`));
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return { ok: false, reason: `unsupported protocol ${url.protocol}`, retry: false };
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([timeout, outer]);
    const handle = await open(path, 'w', 0o600);
    const hash = createHash('sha256');
    let size = 0;
    try {
      const send = url.protocol === 'https:' ? httpsModule().request : httpModule().request;
      const answer = await new Promise<Download>((resolve) => {
        let settled = false;
        const done = (result: Download) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          if (!result.ok) req.destroy();
          resolve(result);
        };
        const onAbort = () =>
          done({ ok: false, reason: timeout.aborted ? `no complete answer within ${timeoutMs / 1000} s` : 'aborted', retry: true });
        const headers = {
          accept: 'application/octet-stream',
          authorization: `Bearer ${config.deviceCredential}`,
          'user-agent': `xspectre-agent/${AGENT_VERSION}`,
        };
        const req = send(url, { method: 'GET', headers }, (res) => {
          const status = res.statusCode ?? 0;
          if (status !== 200) {
            res.resume();
            return done({ ok: false, reason: `HTTP ${status}`, retry: status >= 500 || status === 429 });
          }
          const length = Number(res.headers['content-length'] ?? NaN);
          if (Number.isFinite(length) && length > maxBytes)
            return done({ ok: false, reason: `the executable is ${length} bytes, more than the signed ${maxBytes}`, retry: false });
          // Written in order: each chunk waits for the previous write (backpressure through pause/resume).
          let writing = Promise.resolve();
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes)
              return done({ ok: false, reason: `the executable is larger than the signed ${maxBytes} bytes`, retry: false });
            hash.update(chunk);
            res.pause();
            writing = writing
              .then(() => handle.write(chunk))
              .then(
                () => {
                  res.resume();
                },
                (err: unknown) => done({ ok: false, reason: `cannot write ${path}: ${errorMessage(err)}`, retry: false }),
              );
          });
          res.on('end', () => void writing.then(() => done({ ok: true, sha256: hash.digest('hex'), size })));
          res.on('error', (err) => done({ ok: false, reason: errorMessage(err), retry: true }));
          res.on('close', () => res.complete || done({ ok: false, reason: 'the connection closed mid-answer', retry: true }));
        });
        req.on('error', (err) => done({ ok: false, reason: errorMessage(err), retry: true }));
        signal.addEventListener('abort', onAbort, { once: true });
        if (signal.aborted) onAbort();
        req.end();
      });
      if (answer.ok) await handle.sync();
      return answer;
    } finally {
      await handle.close();
    }
  };
}

export function hostUpdateHost(config: ApiAccess, buildId: string | null, sleep: UpdateHost['sleep']): UpdateHost {
  return { download: httpDownload(config), running: () => ({ buildId, execPath: process.execPath }), sleep };
}

/** Why this agent cannot update itself, or null. */
export function updateUnsupported(options: UpdateOptions): string | null {
  const running = options.host.running();
  const installPath = options.installPath ?? INSTALL_PATH;
  if (running.buildId === null) return 'this agent does not run from a built executable (it has no build id)';
  if (running.execPath !== installPath) return `this agent runs from ${running.execPath}, not from ${installPath}`;
  return null;
}

export const commandDir = (dir: string, commandId: string) => join(dir, commandId);
const paths = (dir: string, commandId: string) => ({
  executable: join(commandDir(dir, commandId), 'xspectre-agent'),
  script: join(commandDir(dir, commandId), 'swap.sh'),
  outcome: join(commandDir(dir, commandId), 'outcome'),
  health: join(dir, HEALTH_FILE),
});

/** What the transient unit runs, or the result that ends the command without swapping anything. */
export type PreparedUpdate =
  { kind: 'run'; command: string[]; runtimeMaxSec: number } | { kind: 'done'; result: FinalResult } | { kind: 'aborted' };

const failed = (reason: string): PreparedUpdate => ({ kind: 'done', result: { status: 'failed', reason: reason.slice(0, 500) } });

/**
 * Downloads and checks the executable of a started `agent.update` and writes the swap script. A
 * hash or size mismatch is `failed` (the command was verified and reported running; the bytes
 * are not what was signed): the download is deleted and nothing is swapped.
 */
export async function prepareUpdate(entry: JournalEntry, options: UpdateOptions, signal: AbortSignal): Promise<PreparedUpdate> {
  const params = AgentUpdateParamsSchema.safeParse(entry.params);
  if (!params.success) return failed('the agent update parameters are not valid');
  const { buildId, sha256, sizeBytes, version } = params.data;
  const running = options.host.running();
  if (running.buildId === buildId) {
    return {
      kind: 'done',
      result: { status: 'succeeded', exitCode: 0, stdout: `already running build ${buildId} (version ${version}): nothing to do\n` },
    };
  }
  const unsupported = updateUnsupported(options);
  if (unsupported) return failed(unsupported);

  const files = paths(options.dir, entry.commandId);
  await rm(commandDir(options.dir, entry.commandId), { recursive: true, force: true });
  await ensureDirectory(commandDir(options.dir, entry.commandId));
  let download: Download | undefined;
  for (let attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++) {
    if (attempt > 1) await options.host.sleep(2000 * 2 ** (attempt - 2), signal);
    if (signal.aborted) break;
    try {
      download = await options.host.download(entry.commandId, files.executable, Math.min(sizeBytes, AGENT_EXECUTABLE_MAX_BYTES), signal);
    } catch (err) {
      download = { ok: false, reason: errorMessage(err), retry: false };
    }
    if (download.ok || !download.retry) break;
  }
  if (signal.aborted) {
    await rm(commandDir(options.dir, entry.commandId), { recursive: true, force: true });
    return { kind: 'aborted' };
  }
  const mismatch = !download?.ok
    ? undefined
    : download.sha256 !== sha256
      ? HASH_MISMATCH_REASON
      : download.size !== sizeBytes
        ? `the downloaded executable is ${download.size} bytes, not the signed ${sizeBytes}`
        : undefined;
  if (!download?.ok || mismatch) {
    await rm(commandDir(options.dir, entry.commandId), { recursive: true, force: true });
    return failed(mismatch ?? `cannot download the executable: ${download && !download.ok ? download.reason : 'no answer'}`);
  }
  // Only checked bytes become executable; the swap script copies them next to the target with 0755.
  await chmod(files.executable, 0o700);
  await writeFileAtomic(files.script, SWAP_SCRIPT, 0o700);
  const seconds = options.healthSeconds ?? AGENT_UPDATE_HEALTH_SECONDS;
  return {
    kind: 'run',
    command: [
      '/bin/sh',
      files.script,
      options.installPath ?? INSTALL_PATH,
      files.executable,
      files.health,
      buildId,
      files.outcome,
      String(seconds),
      AGENT_SERVICE,
      running.buildId ?? 'none',
    ],
    runtimeMaxSec: SWAP_RUNTIME_MAX_SEC,
  };
}

/** The outcome file's `key=value` lines. */
export function parseOutcome(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

/**
 * The command's result from the swap script's outcome file, on top of the unit's result (and
 * output): succeeded with the old and new build ids, or failed with why (a roll back says so).
 */
export async function updateResult(entry: JournalEntry, unit: FinalResult, dir: string): Promise<FinalResult> {
  const raw = await readFile(paths(dir, entry.commandId).outcome, 'utf8').catch(() => null);
  if (raw === null) {
    return {
      ...unit,
      status: 'failed',
      reason: `the update ended without an outcome${unit.reason ? ` (${unit.reason})` : ''}`.slice(0, 500),
    };
  }
  const outcome = parseOutcome(raw.slice(0, 4096));
  const version = typeof entry.params.version === 'string' ? entry.params.version : 'unknown';
  if (outcome.result === 'succeeded') {
    return {
      ...unit,
      status: 'succeeded',
      exitCode: 0,
      stdout: `${unit.stdout ?? ''}updated the agent to version ${version}: build ${outcome.old} → ${outcome.new}\n`,
    };
  }
  if (outcome.result === 'rolled-back') {
    const seconds = Number(outcome.reason);
    return { ...unit, status: 'failed', reason: rolledBackReason(Number.isInteger(seconds) ? seconds : AGENT_UPDATE_HEALTH_SECONDS) };
  }
  return { ...unit, status: 'failed', reason: `the update failed: ${outcome.reason ?? 'no reason given'}`.slice(0, 500) };
}

/** Removes a finished update's download, script and outcome (the previous executable stays beside the installed one). */
export async function removeUpdateFiles(dir: string, commandId: string): Promise<void> {
  await rm(commandDir(dir, commandId), { recursive: true, force: true });
}

/**
 * The proof a new build came up: after its first acknowledged heartbeat (the API reached over the
 * tunnel, the credential accepted) the agent writes its build id to `<dir>/health`, which the swap
 * script waits for. Once per process; a build without a build id writes nothing.
 */
export function healthReporter(dir: string, buildId: string | null, log: Pick<Logger, 'warn'>): { acknowledged(): void } {
  let written = buildId === null;
  return {
    acknowledged() {
      if (written) return;
      written = true;
      void ensureDirectory(dir)
        .then(() => writeFileAtomic(join(dir, HEALTH_FILE), buildId!, 0o600))
        .catch((err: unknown) => log.warn('cannot write the update health file', { error: errorMessage(err) }));
    },
  };
}
