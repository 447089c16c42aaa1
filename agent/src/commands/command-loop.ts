import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandStatusReport, HeartbeatAck } from '@xspectre/contracts';
import { DEFAULT_MAX_CLOCK_SKEW_MS, type PinnedCommandKey } from '@xspectre/contracts/command-signature';
import { errorMessage } from '../errors.js';
import { ApiUnreachableError } from '../http.js';
import type { Logger } from '../log.js';
import { CommandApiError, POLL_WAIT_SECONDS, type CommandApi, type ReportOutcome } from './command-api.js';
import type { CommandJournal, FinalResult, JournalEntry } from './command-journal.js';
import type { CommandExecutor } from './executor.js';
import type { PolicyDecision } from './policy.js';
import { NONCE_RETENTION_MARGIN_MS, ReplayGuardFullError, type ReplayGuard } from './replay-guard.js';
import type { ServerClock } from './server-clock.js';
import { verifySignedCommand, type Verdict } from './verify.js';

/** After SIGTERM an in-flight report gets this long to finish (as the heartbeat loop's requests). */
export const REPORT_GRACE_MS = 3000;
export const MIN_BACKOFF_MS = 1000;
export const MAX_BACKOFF_MS = 60_000;
/** An API without the command routes (404) is asked again this rarely. */
export const NO_ROUTE_BACKOFF_MS = 5 * 60_000;
/**
 * How long a rejection report is retried. It need not be more: a command the API has not heard
 * about stays `delivered` and comes back with the next poll, to be checked and rejected again,
 * and one command whose report fails (an edited row the API cannot answer for) must not hold up
 * the others.
 */
export const REJECTION_REPORT_WINDOW_MS = 15_000;
/** A poll held at least this long is dropped and made again when an ack says commands wait. */
const STALE_POLL_MS = 2000;
/**
 * Actions carried out beside the queue: a first backup can take hours, and a reboot or a script
 * must not wait for it. The API hands out one backup or restore per device at a time
 * (api/src/backups/backups.service.ts), and each command has its own journal file, so nothing
 * else is shared.
 */
export const BESIDE_THE_QUEUE: ReadonlySet<string> = new Set(['backup.run', 'backup.restore']);

export interface CommandLoopDeps {
  deviceId: string;
  pinnedKeys: readonly PinnedCommandKey[];
  api: CommandApi;
  journal: CommandJournal;
  guard: ReplayGuard;
  executor: Pick<CommandExecutor, 'unsupported' | 'unitFor' | 'bootMarker' | 'run' | 'resume' | 'cleanup'>;
  policy: { check(action: string): Promise<PolicyDecision> };
  clock: ServerClock;
  log: Logger;
  shutdown: AbortSignal;
  /** The local clock (the journal's timestamps). */
  now: () => Date;
  maxClockSkewMs?: number;
  waitSeconds?: number;
  /** Default REJECTION_REPORT_WINDOW_MS. */
  rejectionReportWindowMs?: number;
  /**
   * The loop starts after the first heartbeat ack or this long (default 10 s): the agent's
   * startup (the first telemetry and inventory) and the loop's do not add up to one memory peak.
   */
  startDelayMs?: number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

const abortableSleep = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

/**
 * The signed command loop, beside the heartbeat loop in `run`: resolves what a previous run
 * left started or unreported, then long-polls `GET agent/commands`; each command is verified
 * (verify.ts) and either reported `rejected` with its reason, or recorded (nonce, then the
 * journal's `started`), reported `running`, executed once, and its result reported, retried
 * until the API has it. One command at a time, in the order the API hands them out, except
 * the actions in BESIDE_THE_QUEUE, which run beside the others once `running` is reported.
 */
export class CommandLoop {
  private wake = new AbortController();
  private readonly beside = new Set<Promise<void>>();
  private firstAck!: () => void;
  private readonly acked = new Promise<void>((resolve) => (this.firstAck = resolve));
  private pollStartedAt: number | undefined;
  private readonly skew: number;
  private readonly reportSignal: AbortSignal;

  constructor(private readonly deps: CommandLoopDeps) {
    this.skew = deps.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
    // Reports in flight at shutdown get a grace period; no new attempt starts after it.
    const grace = new AbortController();
    deps.shutdown.addEventListener('abort', () => setTimeout(() => grace.abort(), REPORT_GRACE_MS).unref(), { once: true });
    this.reportSignal = grace.signal;
  }

  /** Every heartbeat ack: its server time corrects the clock; waiting commands wake the poll. */
  onAck(ack: Pick<HeartbeatAck, 'serverTime' | 'pendingCommands'>): void {
    this.deps.clock.observe(ack.serverTime);
    this.firstAck();
    if ((ack.pendingCommands ?? 0) > 0) {
      const held = this.pollStartedAt === undefined ? Infinity : Date.now() - this.pollStartedAt;
      if (held >= STALE_POLL_MS) this.wake.abort();
    }
  }

  async run(): Promise<void> {
    const { log, shutdown } = this.deps;
    const startDelay = this.deps.startDelayMs ?? 10_000;
    if (startDelay > 0) await Promise.race([this.acked, (this.deps.sleep ?? abortableSleep)(startDelay, shutdown)]);
    await this.recover();
    await this.prune();
    let failures = 0;
    // Batches in a row in which nothing reached the API: the same commands come back at once, so wait before asking again.
    let stalled = 0;
    while (!shutdown.aborted) {
      this.wake = new AbortController();
      const signal = AbortSignal.any([shutdown, this.wake.signal]);
      this.pollStartedAt = Date.now();
      let answer;
      try {
        answer = await this.deps.api.poll(this.deps.waitSeconds ?? POLL_WAIT_SECONDS, signal);
      } catch (err) {
        this.pollStartedAt = undefined;
        if (shutdown.aborted) break;
        if (this.wake.signal.aborted) continue; // an ack said commands wait: poll again at once
        failures++;
        const noRoute = err instanceof CommandApiError && err.status === 404;
        if (failures === 1) {
          log.warn(noRoute ? 'command poll: this API has no command queue' : 'command poll failed', {
            error: errorMessage(err),
            ...(err instanceof CommandApiError ? { status: err.status, code: err.code } : {}),
          });
        }
        if (!(err instanceof ApiUnreachableError) && !(err instanceof CommandApiError)) throw err;
        await (this.deps.sleep ?? abortableSleep)(noRoute ? NO_ROUTE_BACKOFF_MS : this.backoff(failures), signal);
        continue;
      }
      this.pollStartedAt = undefined;
      if (failures > 0) log.info('command poll works again', { failures });
      failures = 0;
      this.deps.clock.observe(answer.serverTime);
      let progress = false;
      for (const raw of answer.commands) {
        if (shutdown.aborted) break;
        if (await this.handle(raw)) progress = true;
      }
      if (answer.commands.length > 0) await this.prune();
      if (answer.commands.length === 0 || progress) stalled = 0;
      else {
        stalled++;
        if (stalled === 1)
          log.warn('no command of this batch could be reported; polling again after pauses', { commands: answer.commands.length });
        await (this.deps.sleep ?? abortableSleep)(this.backoff(stalled), shutdown);
      }
    }
    // Shutdown: those beside the queue end their wait too (executor.run resolves undefined); the next start resumes them.
    await Promise.allSettled([...this.beside]);
  }

  /** Runs a command beside the queue; the loop goes on polling. */
  private runBeside(entry: JournalEntry): void {
    const task = (async () => {
      let result: FinalResult | undefined;
      try {
        result = await this.deps.executor.run(entry, this.deps.shutdown);
      } catch (err) {
        result = { status: 'failed', reason: `the agent could not carry it out: ${errorMessage(err)}`.slice(0, 500) };
      }
      if (result) await this.finish(entry, result);
    })()
      .catch((err: unknown) =>
        this.deps.log.error('command beside the queue: its result could not be recorded', {
          commandId: entry.commandId,
          error: errorMessage(err),
        }),
      )
      .finally(() => this.beside.delete(task));
    this.beside.add(task);
  }

  /** A previous run's commands: started without a result are resolved (never run again); results the API lacks are sent. */
  private async recover(): Promise<void> {
    const { journal, executor, log, shutdown } = this.deps;
    for (const entry of journal.unfinished()) {
      if (shutdown.aborted) return;
      // An action starts only after `running` is recorded: without it, it never started.
      const result = entry.runningReported
        ? await executor.resume(entry, shutdown)
        : { status: 'interrupted' as const, reason: 'not run: the agent stopped before it started' };
      if (!result) return; // shutdown while waiting for its unit: the next start resumes it
      log.info('command resolved after a restart', { commandId: entry.commandId, action: entry.action, status: result.status });
      await this.finish(entry, result);
    }
    for (const entry of journal.unreported()) {
      if (shutdown.aborted) return;
      await this.reportFinal(entry);
    }
  }

  /** True when the API heard something new of this command (or it ran): false when every report failed. */
  private async handle(raw: unknown): Promise<boolean> {
    const { journal, log } = this.deps;
    const verdict = await verifySignedCommand(raw, {
      deviceId: this.deps.deviceId,
      pinnedKeys: this.deps.pinnedKeys,
      now: this.deps.clock.now(),
      maxClockSkewMs: this.skew,
      guard: this.deps.guard,
      policy: this.deps.policy,
      unsupported: (action) => this.deps.executor.unsupported(action),
    });
    // The journal decides what ran: an authentic command it holds (same id, same nonce) is this
    // very command delivered again, whatever the other checks say now (expired, policy changed).
    const authentic = verdict.kind === 'accept' ? verdict.envelope : verdict.authentic ? verdict : undefined;
    const entry = authentic?.commandId ? journal.get(authentic.commandId) : undefined;
    if (entry && entry.nonce === authentic?.nonce) return this.redelivered(entry);
    if (verdict.kind === 'reject') return this.reject(verdict);

    const { envelope } = verdict;
    try {
      await this.deps.guard.record(envelope.commandId, envelope.nonce, envelope.expiresAt, this.deps.clock.now());
    } catch (err) {
      if (!(err instanceof ReplayGuardFullError)) throw err; // cannot record the nonce: never run without it
      return await this.reject({
        kind: 'reject',
        reason: `too many recent commands (${err.max}) are kept; try again later`,
        commandId: envelope.commandId,
        authentic: true,
        redelivery: false,
      });
    }
    const started = await journal.begin(
      {
        commandId: envelope.commandId,
        action: envelope.action,
        params: envelope.params,
        nonce: envelope.nonce,
        expiresAt: envelope.expiresAt,
        bootMarker: await this.deps.executor.bootMarker(),
        unit: this.deps.executor.unitFor(envelope.commandId, envelope.action),
      },
      this.deps.now(),
    );
    log.info('command accepted', { commandId: envelope.commandId, action: envelope.action });

    // Not run until the API knows it runs (a reboot could not report it otherwise); not run late either.
    const runningUntil = Date.parse(envelope.expiresAt) + this.skew;
    const running = await this.report(started.commandId, { status: 'running' }, runningUntil);
    if (running === 'aborted') return true; // shutdown before anything ran: the next start reports it interrupted
    if (running === 'too-late' || running.kind === 'refused') {
      const why =
        running === 'too-late' ? 'the API could not be told it started before it expired' : `the API answered ${running.code} to running`;
      log.warn('command not run', { commandId: started.commandId, reason: why });
      await journal.finish(started.commandId, { status: 'interrupted', reason: `not run: ${why}` }, this.deps.now());
      if (running !== 'too-late') await journal.markReported(started.commandId);
      else await this.reportFinal(journal.get(started.commandId)!);
      return true;
    }
    const entry2 = await journal.markRunningReported(started.commandId);
    if (BESIDE_THE_QUEUE.has(entry2.action)) {
      this.runBeside(entry2);
      return true;
    }
    const result = await this.deps.executor.run(entry2, this.deps.shutdown);
    if (!result) return true; // shutdown (or the reboot) came first: resolved at the next start
    await this.finish(entry2, result);
    return true;
  }

  /** This very command was accepted before: report what is known again, never run it again. */
  private async redelivered(entry: JournalEntry): Promise<boolean> {
    this.deps.log.info('command delivered again: its known status is reported', { commandId: entry.commandId });
    if (entry.result) {
      await this.reportFinal(entry, true);
      return true;
    }
    const outcome = await this.report(entry.commandId, { status: 'running' });
    if (typeof outcome === 'object' && outcome.kind === 'accepted') await this.deps.journal.markRunningReported(entry.commandId);
    return true;
  }

  /** Reports the rejection, retried for REJECTION_REPORT_WINDOW_MS; false when the API never answered it. */
  private async reject(verdict: Extract<Verdict, { kind: 'reject' }>): Promise<boolean> {
    this.deps.log.warn('command rejected', { commandId: verdict.commandId ?? null, reason: verdict.reason, authentic: verdict.authentic });
    if (!verdict.commandId) return true; // nothing the API could match it to
    const until = this.deps.clock.now().getTime() + (this.deps.rejectionReportWindowMs ?? REJECTION_REPORT_WINDOW_MS);
    const outcome = await this.report(verdict.commandId, { status: 'rejected', reason: verdict.reason.slice(0, 500) }, until);
    if (outcome === 'too-late') {
      this.deps.log.warn('the rejection was not reported; the API hands the command out again', { commandId: verdict.commandId });
      return false;
    }
    if (typeof outcome === 'object' && outcome.kind === 'refused') {
      this.deps.log.warn('the API refused the rejection report', {
        commandId: verdict.commandId,
        status: outcome.status,
        code: outcome.code,
      });
    }
    return true;
  }

  private async finish(entry: JournalEntry, result: FinalResult): Promise<void> {
    const finished = await this.deps.journal.finish(entry.commandId, result, this.deps.now());
    this.deps.log.info('command finished', {
      commandId: entry.commandId,
      action: entry.action,
      status: result.status,
      exitCode: result.exitCode ?? null,
    });
    await this.deps.executor
      .cleanup(finished)
      .catch((err: unknown) =>
        this.deps.log.warn('cannot clean up after a command', { commandId: entry.commandId, error: errorMessage(err) }),
      );
    await this.reportFinal(finished);
  }

  /** The final status, until the API has it (or refuses it for good); `interrupted` needs `running` first. */
  private async reportFinal(entry: JournalEntry, again = false): Promise<void> {
    const result = entry.result!;
    if (!entry.runningReported && result.status === 'interrupted') {
      const running = await this.report(entry.commandId, { status: 'running' });
      if (typeof running !== 'object') return;
      if (running.kind === 'accepted') await this.deps.journal.markRunningReported(entry.commandId);
    }
    const outcome = await this.report(entry.commandId, result);
    if (typeof outcome !== 'object') return;
    if (outcome.kind === 'refused' && !again) {
      this.deps.log.warn('the API refused the result', { commandId: entry.commandId, status: outcome.status, code: outcome.code });
    }
    if (!entry.reported) await this.deps.journal.markReported(entry.commandId);
  }

  /**
   * Sends one status, retried with backoff until the API answers for good; 'aborted' at
   * shutdown; 'too-late' once the estimate of the API's clock passes `until`.
   */
  private async report(commandId: string, report: CommandStatusReport, until?: number): Promise<ReportOutcome | 'aborted' | 'too-late'> {
    for (let attempt = 1; ; attempt++) {
      if (this.deps.shutdown.aborted && attempt > 1) return 'aborted';
      if (until !== undefined && attempt > 1 && this.deps.clock.now().getTime() > until) return 'too-late';
      try {
        return await this.deps.api.report(commandId, report, this.reportSignal);
      } catch (err) {
        if (!(err instanceof ApiUnreachableError) && !(err instanceof CommandApiError)) throw err;
        if (attempt === 1)
          this.deps.log.warn('command status not delivered; retrying', { commandId, status: report.status, error: errorMessage(err) });
        if (this.deps.shutdown.aborted) return 'aborted';
        await (this.deps.sleep ?? abortableSleep)(this.backoff(attempt), this.deps.shutdown);
      }
    }
  }

  private backoff(failures: number): number {
    const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.min(failures - 1, 16));
    return Math.round(base * (0.5 + 0.5 * (this.deps.random ?? Math.random)()));
  }

  private async prune(): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.guard.prune(now);
    await this.deps.journal.prune(now, this.skew + NONCE_RETENTION_MARGIN_MS);
  }
}
