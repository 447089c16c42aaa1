import { randomUUID } from 'node:crypto';
import { release } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { CommandStatusReport, RecoveryHardware, RecoveryRegisterResponse } from '@xspectre/contracts';
import { DEFAULT_MAX_CLOCK_SKEW_MS, type PinnedCommandKey } from '@xspectre/contracts/command-signature';
import { CommandApiError } from '../commands/command-api.js';
import { ReplayGuardFullError, type ReplayGuard } from '../commands/replay-guard.js';
import { ServerClock } from '../commands/server-clock.js';
import { verifySignedCommand } from '../commands/verify.js';
import { errorMessage } from '../errors.js';
import { ApiUnreachableError } from '../http.js';
import type { ActionOutcome } from './actions.js';
import type { Field } from './console-line.js';
import type { ProgressSample } from './progress.js';
import type { RecoveryApi } from './recovery-api.js';

/**
 * The recovery agent's main loop (issue 16): register as RECOVERY MODE (a fresh bootId per
 * process start), long-poll `agent/recovery/commands`, verify each envelope with the agent's own
 * verification (verify.ts: pinned keys, this device's id, expiry, at-most-once nonces) and only
 * `recovery.*` actions, report `running`, run the action, report the final status (retried until
 * the API has it), then run what follows it (the reboot). One command at a time. The API being
 * unreachable is retried with backoff, forever: the stick has nothing else to do.
 */
export interface RecoveryLoopDeps {
  deviceId: string;
  pinnedKeys: readonly PinnedCommandKey[];
  api: RecoveryApi;
  guard: ReplayGuard;
  hardware: RecoveryHardware;
  agentVersion: string;
  recipeHash: string | null;
  kernel?: string | null;
  /** This boot's sshd host key for the recovery shell (ssh-server.ts); null or absent: no shell. */
  sshHostKey?: string | null;
  runAction: (action: string, params: unknown, commandId: string, hooks: ActionHooks) => Promise<ActionOutcome>;
  say: (event: string, fields?: Record<string, Field>) => void;
  shutdown: AbortSignal;
  clock?: ServerClock;
  bootId?: string;
  waitSeconds?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Stops after this many poll answers (tests); default: never. */
  maxPolls?: number;
}

/** What an action gets from the loop: progress (posted at most one at a time, console every 10 s). */
export interface ActionHooks {
  progress: (sample: ProgressSample) => void;
}

const CONSOLE_PROGRESS_MS = 10_000;

export class RecoveryLoop {
  readonly bootId: string;
  readonly clock: ServerClock;
  private readonly finished = new Map<string, CommandStatusReport>();
  private registration: RecoveryRegisterResponse | undefined;

  constructor(private readonly deps: RecoveryLoopDeps) {
    this.bootId = deps.bootId ?? randomUUID();
    this.clock = deps.clock ?? new ServerClock();
  }

  private backoff(attempt: number): number {
    const min = this.deps.minBackoffMs ?? 1000;
    return Math.min(this.deps.maxBackoffMs ?? 60_000, min * 2 ** Math.min(attempt, 16));
  }

  private async pause(ms: number): Promise<boolean> {
    try {
      await delay(ms, undefined, { signal: this.deps.shutdown });
      return true;
    } catch {
      return false;
    }
  }

  /** Registers, retrying until the API answers (or shutdown). */
  async register(): Promise<RecoveryRegisterResponse | undefined> {
    for (let attempt = 0; !this.deps.shutdown.aborted; attempt++) {
      try {
        const answer = await this.deps.api.register(
          {
            bootId: this.bootId,
            agentVersion: this.deps.agentVersion,
            recipeHash: this.deps.recipeHash,
            kernel: (this.deps.kernel ?? release()).slice(0, 128) || null,
            hardware: this.deps.hardware,
            ...(this.deps.sshHostKey ? { sshHostKey: this.deps.sshHostKey } : {}),
          },
          this.deps.shutdown,
        );
        this.clock.observe(answer.serverTime);
        this.registration = answer;
        this.deps.say('register ok', { boot: this.bootId, device: answer.deviceId, medium: answer.mediumId });
        return answer;
      } catch (err) {
        const wait = this.backoff(attempt);
        this.deps.say('register fail', { reason: describe(err), retry_s: Math.round(wait / 1000) });
        if (!(await this.pause(wait))) return undefined;
      }
    }
    return undefined;
  }

  async run(): Promise<void> {
    if (!this.registration && !(await this.register())) return;
    this.deps.say('waiting for commands');
    let failures = 0;
    for (let polls = 0; !this.deps.shutdown.aborted && polls < (this.deps.maxPolls ?? Infinity); polls++) {
      let answer;
      try {
        answer = await this.deps.api.poll(this.deps.waitSeconds ?? 25, this.deps.shutdown);
        failures = 0;
      } catch (err) {
        if (this.deps.shutdown.aborted) return;
        const wait = this.backoff(failures++);
        this.deps.say('poll fail', { reason: describe(err), retry_s: Math.round(wait / 1000) });
        if (err instanceof CommandApiError && err.status === 401) {
          // Revoked or not registered (the API restarted): register again.
          this.registration = undefined;
          if (!(await this.pause(wait)) || !(await this.register())) return;
          continue;
        }
        if (!(await this.pause(wait))) return;
        continue;
      }
      this.clock.observe(answer.serverTime);
      for (const raw of answer.commands) {
        if (this.deps.shutdown.aborted) return;
        await this.handle(raw);
      }
    }
  }

  /** One command as it arrived. */
  async handle(raw: unknown): Promise<void> {
    const verdict = await verifySignedCommand(raw, {
      deviceId: this.deps.deviceId,
      pinnedKeys: this.deps.pinnedKeys,
      now: this.clock.now(),
      maxClockSkewMs: DEFAULT_MAX_CLOCK_SKEW_MS,
      guard: this.deps.guard,
      policy: {
        check: async (action) =>
          action.startsWith('recovery.') ? { allowed: true } : { allowed: false, why: 'the recovery system runs only recovery.* actions' },
      },
      unsupported: async () => null,
    });
    if (verdict.kind === 'reject') {
      const known = verdict.redelivery && verdict.commandId ? this.finished.get(verdict.commandId) : undefined;
      if (known && verdict.commandId) {
        await this.report(verdict.commandId, known);
        return;
      }
      this.deps.say('command rejected', { id: verdict.commandId ?? 'unknown', reason: verdict.reason });
      if (verdict.commandId) await this.report(verdict.commandId, { status: 'rejected', reason: verdict.reason.slice(0, 500) }, 15_000);
      return;
    }
    const { envelope } = verdict;
    const id = envelope.commandId;
    if (verdict.redelivery) {
      // Seen before in this boot: report what is known; a command cut by a restart of the agent is interrupted.
      const known = this.finished.get(id) ?? { status: 'interrupted', reason: 'the recovery agent restarted while it ran' };
      await this.report(id, known);
      return;
    }
    try {
      await this.deps.guard.record(id, envelope.nonce, envelope.expiresAt, this.clock.now());
    } catch (err) {
      const reason =
        err instanceof ReplayGuardFullError ? 'too many unexpired commands' : `replay protection state not saved: ${errorMessage(err)}`;
      this.deps.say('command rejected', { id, reason });
      await this.report(id, { status: 'rejected', reason: reason.slice(0, 500) }, 15_000);
      return;
    }
    this.deps.say('command running', { id, action: envelope.action });
    await this.report(id, { status: 'running' }, 60_000);

    let lastConsole = 0;
    let posting = false;
    const hooks: ActionHooks = {
      progress: (sample) => {
        const now = Date.now();
        if (now - lastConsole >= CONSOLE_PROGRESS_MS || sample.bytesDone === sample.bytesTotal) {
          lastConsole = now;
          this.deps.say('progress', {
            id,
            phase: sample.phase,
            done: sample.bytesDone,
            total: sample.bytesTotal,
            rate: sample.rateBytesPerSecond,
            eta_s: sample.etaSeconds ?? 'unknown',
          });
        }
        if (posting) return; // one progress request at a time; the next sample carries newer numbers
        posting = true;
        this.deps.api
          .progress({ commandId: id, ...sample }, this.deps.shutdown)
          .catch(() => undefined)
          .finally(() => {
            posting = false;
          });
      },
    };
    let outcome: ActionOutcome;
    try {
      outcome = await this.deps.runAction(envelope.action, envelope.params, id, hooks);
    } catch (err) {
      outcome = { status: 'failed', reason: errorMessage(err).slice(0, 500) };
    }
    const { after, ...rest } = outcome;
    const report: CommandStatusReport = rest;
    this.finished.set(id, report);
    this.deps.say(`command ${outcome.status}`, { id, action: envelope.action, reason: outcome.reason });
    await this.report(id, report);
    if (after) {
      this.deps.say('after command', { id, action: envelope.action });
      await after();
    }
  }

  /** Reports a status, retrying with backoff (forever for final statuses unless `windowMs`). */
  private async report(commandId: string, report: CommandStatusReport, windowMs?: number): Promise<void> {
    const until = windowMs === undefined ? Infinity : Date.now() + windowMs;
    for (let attempt = 0; !this.deps.shutdown.aborted; attempt++) {
      try {
        const outcome = await this.deps.api.report(commandId, report, this.deps.shutdown);
        if (outcome.kind === 'refused') this.deps.say('report refused', { id: commandId, status: report.status, code: outcome.code });
        return;
      } catch (err) {
        const wait = this.backoff(attempt);
        if (Date.now() + wait > until) {
          this.deps.say('report dropped', { id: commandId, status: report.status, reason: describe(err) });
          return;
        }
        this.deps.say('report fail', { id: commandId, status: report.status, reason: describe(err), retry_s: Math.round(wait / 1000) });
        if (!(await this.pause(wait))) return;
      }
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof ApiUnreachableError) return `unreachable: ${err.reason}`;
  if (err instanceof CommandApiError) return err.message;
  return errorMessage(err);
}
