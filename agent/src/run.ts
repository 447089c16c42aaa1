import os from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Heartbeat, HeartbeatAck } from '@xspectre/contracts';
import { parseFlags } from './args.js';
import type { CliContext } from './cli-context.js';
import { loadAgentConfig, resolvePaths, type AgentConfig } from './config.js';
import { errorMessage, ExitCode } from './errors.js';
import { DEFAULT_DOCKER_SOCKET, DockerCollector } from './collectors/docker.js';
import { InventoryTracker } from './collectors/inventory.js';
import { SmartCollector } from './collectors/smart.js';
import { defaultWatchUnits, ServicesCollector } from './collectors/services.js';
import { SystemCollector } from './collectors/system.js';
import { telemetrySource, type TelemetrySource } from './collectors/telemetry.js';
import { buildHeartbeat, HeartbeatRejectedError, jitteredDelayMs, sendHeartbeat, sendHeartbeats } from './heartbeat.js';
import { BATCH_MAX_BYTES, BATCH_MAX_COUNT, DEFAULT_JOURNAL_MAX_BYTES, HeartbeatJournal } from './journal.js';
import { ApiUnreachableError } from './http.js';
import { lockStateDirectory } from './instance-lock.js';
import { openCommandLoop } from './commands/start.js';
import { ScannerIntegrator } from './scanner/integrator.js';
import { healthReporter, UPDATE_DIR } from './commands/agent-update.js';
import { jsonLogger, type Logger } from './log.js';
import { ManagedSettings } from './managed.js';
import { recordAck, StateStore, takeSequence, type AgentState } from './state.js';
import { AGENT_BUILD_ID, AGENT_VERSION } from './version.js';

/** After SIGTERM an in-flight request gets this long to finish before it is abandoned. */
export const SHUTDOWN_GRACE_MS = 3000;

const FLAGS = { config: { type: 'string' }, 'state-dir': { type: 'string' } } as const;

export async function runCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const flags = parseFlags('run', argv, FLAGS);
  const paths = resolvePaths({ config: flags.string('config'), stateDir: flags.string('state-dir') }, ctx.env);
  const shutdown = ctx.shutdownSignal();
  const log = jsonLogger(ctx.stdout, ctx.now);
  const config = await loadAgentConfig(paths.configPath);
  const lock = await lockStateDirectory(paths.stateDir);
  try {
    // managed.json (API-managed settings) over agent.conf; a damaged one is logged and ignored.
    const managed = await ManagedSettings.open(paths.stateDir, config, log);
    await runLocked(paths, managed, ctx, log, shutdown);
  } finally {
    await lock.release();
  }
  return ExitCode.OK;
}

async function runLocked(
  paths: ReturnType<typeof resolvePaths>,
  managed: ManagedSettings,
  ctx: CliContext,
  log: Logger,
  shutdown: AbortSignal,
): Promise<void> {
  const config = managed.config;
  const store = new StateStore(paths.stateDir);
  const loaded = await store.load();
  if (loaded.warning) log.warn(loaded.warning);
  const opened = await HeartbeatJournal.open(paths.stateDir, { maxBytes: journalMaxBytes(ctx.env) });
  for (const warning of opened.warnings) log.warn(warning);
  const journal = opened.journal;

  // The command loop runs beside the heartbeat loop; either failing stops both (systemd restarts us).
  const stop = new AbortController();
  const running = AbortSignal.any([shutdown, stop.signal]);
  const dockerSocket = ctx.env.XSPECTRE_DOCKER_SOCKET?.trim() || DEFAULT_DOCKER_SOCKET;
  // Scanners only: Greenbone over GMP plus its compose project (scanner/integrator.ts), polled beside the heartbeats.
  const scanner = config.modules.scanner
    ? new ScannerIntegrator({ stateDir: paths.stateDir, dockerSocket, configuredSocket: config.gmpSocketPath, log, now: ctx.now })
    : null;
  const commands = await openCommandLoop({
    stateDir: paths.stateDir,
    config,
    env: ctx.env,
    log,
    shutdown: running,
    now: ctx.now,
    lastAck: loaded.state.lastAck,
    dockerSocket,
    managed,
  });
  // The first ack proves this build works: an agent update in progress waits for it (agent-update.ts).
  const health = healthReporter(join(resolve(paths.stateDir), 'commands', UPDATE_DIR), AGENT_BUILD_ID, log);
  const seen = (ack: HeartbeatAck) => {
    commands.onAck(ack);
    health.acknowledged();
    return ack;
  };
  const heartbeats = heartbeatLoop({
    config,
    store,
    state: loaded.state,
    log,
    shutdown: running,
    now: ctx.now,
    uptimeSeconds: () => os.uptime(),
    send: (c, heartbeat, signal) => sendHeartbeat(c, heartbeat, signal).then(seen),
    sendBatch: (c, batch, signal) => sendHeartbeats(c, batch, signal).then(seen),
    intervalOverride: () => managed.heartbeatIntervalOverride,
    journal,
    telemetry: telemetrySource(
      {
        metrics: new SystemCollector(),
        services: liveServices(config, log),
        docker: new DockerCollector(dockerSocket),
        inventory: new InventoryTracker(paths.stateDir),
        smart: new SmartCollector(log),
        ...(scanner ? { scanner } : {}),
      },
      log,
    ),
  });
  // The scanner poll never rejects and ends only when the others stop: it is not one of the loops that stop the agent.
  const polling = scanner?.run(running) ?? Promise.resolve();
  const results = await Promise.allSettled([heartbeats, commands.run()].map((loop) => loop.finally(() => stop.abort())));
  // A GMP session in flight may take a minute: it gets the heartbeat's grace, not more (it holds nothing that needs closing).
  await Promise.race([polling, sleep(SHUTDOWN_GRACE_MS)]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The services collector for the watch list as it is now (settings.apply changes it at run time): made again when the list changes. */
function liveServices(config: AgentConfig, log: Logger): { collect(): ReturnType<ServicesCollector['collect']> } {
  let current: { watch: readonly string[] | undefined; collector: ServicesCollector } | undefined;
  return {
    collect() {
      const watch = config.watchUnits;
      if (!current || current.watch !== watch) {
        const collector = watch
          ? new ServicesCollector(watch, log)
          : new ServicesCollector(defaultWatchUnits(config.modules), log, undefined, { onlyLoaded: true });
        current = { watch, collector };
      }
      return current.collector.collect();
    },
  };
}

/** `XSPECTRE_JOURNAL_MAX_BYTES` (at least 64 KiB), else 20 MiB. */
export function journalMaxBytes(env: NodeJS.ProcessEnv): number {
  const value = Number(env.XSPECTRE_JOURNAL_MAX_BYTES?.trim() || NaN);
  return Number.isSafeInteger(value) && value >= 64 * 1024 ? value : DEFAULT_JOURNAL_MAX_BYTES;
}

export interface HeartbeatLoopDeps {
  config: AgentConfig;
  store: Pick<StateStore, 'save'>;
  state: AgentState;
  log: Logger;
  shutdown: AbortSignal;
  now: () => Date;
  uptimeSeconds: () => number;
  /** Sends one heartbeat (used when `sendBatch` is absent). */
  send: (config: AgentConfig, heartbeat: Heartbeat, signal: AbortSignal) => Promise<HeartbeatAck>;
  /** Sends a batch (oldest first); with it, the journal's backlog goes out in batches. */
  sendBatch?: (config: AgentConfig, heartbeats: readonly Heartbeat[], signal: AbortSignal) => Promise<HeartbeatAck>;
  /** An interval set by a command (managed.json): wins over the one each ack carries, from the next wait on. */
  intervalOverride?: () => number | undefined;
  /**
   * The offline journal: each heartbeat is appended (fsync'd) before it is first sent and kept
   * until acknowledged. Without one, a heartbeat that fails is not retried.
   */
  journal?: HeartbeatBacklog;
  /** Per batch (defaults: 256 KiB, 1000 heartbeats). */
  batchMaxBytes?: number;
  batchMaxCount?: number;
  /** While backlogged, at most this many batches go out per interval (default 20). */
  maxBatchesPerTick?: number;
  /** Metrics, services, Docker and inventory for each heartbeat (none when absent). */
  telemetry?: TelemetrySource;
  random?: () => number;
  /** Waits between heartbeats; resolves early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** What the loop needs of a journal (HeartbeatJournal). */
export type HeartbeatBacklog = Pick<HeartbeatJournal, 'highestSequence' | 'count' | 'append' | 'pending' | 'acknowledge'>;

export const MAX_BATCHES_PER_TICK = 20;

/** No journal: only the latest heartbeat is kept, and only until the end of its tick. */
class LatestOnly implements HeartbeatBacklog {
  private latest: Heartbeat | undefined;
  highestSequence = 0;
  get count() {
    return this.latest ? 1 : 0;
  }
  append(heartbeat: Heartbeat) {
    this.latest = heartbeat;
    this.highestSequence = heartbeat.sequence;
    return Promise.resolve();
  }
  pending() {
    return this.latest ? [this.latest] : [];
  }
  acknowledge(upTo: number) {
    const done = this.latest && this.latest.sequence <= upTo ? 1 : 0;
    if (done) this.latest = undefined;
    return Promise.resolve(done);
  }
}

const abortableSleep = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

/**
 * Sends a heartbeat right away, then every interval (±10 %) until `shutdown` aborts.
 * The sequence number is persisted before the heartbeat leaves, so it never repeats, even
 * across a crash. Each heartbeat is journaled before it is sent; then the oldest
 * unacknowledged ones go out in batches (several per interval while backlogged) and each
 * acknowledged batch leaves the journal. A failed batch is logged and retried, from the
 * oldest, at the next interval.
 */
export async function heartbeatLoop(deps: HeartbeatLoopDeps): Promise<AgentState> {
  const { config, store, log, shutdown } = deps;
  const journal = deps.journal ?? new LatestOnly();
  const batchMaxCount = deps.sendBatch ? (deps.batchMaxCount ?? BATCH_MAX_COUNT) : 1;
  const batchMaxBytes = deps.batchMaxBytes ?? BATCH_MAX_BYTES;
  const maxBatches = deps.maxBatchesPerTick ?? MAX_BATCHES_PER_TICK;
  let state = deps.state;
  // A lost or older state file must not hand out sequences the journal already holds.
  if (journal.highestSequence > state.sequence) state = { ...state, sequence: journal.highestSequence };
  let intervalSeconds = config.heartbeatIntervalSeconds;
  log.info('agent started', {
    version: AGENT_VERSION,
    buildId: AGENT_BUILD_ID,
    deviceId: config.deviceId,
    apiUrl: config.apiUrl,
    sequence: state.sequence,
    intervalSeconds,
    ...(deps.journal ? { journaled: journal.count } : {}),
    // The executable's built-in flags (node-flags.json) show here: proof they apply.
    nodeFlags: process.execArgv.join(' '),
  });

  while (!shutdown.aborted) {
    const collected = deps.telemetry ? await deps.telemetry.collect() : null;
    state = takeSequence(state);
    await store.save(state);
    const sequence = state.sequence;
    await journal.append(buildHeartbeat(config.deviceId, sequence, deps.now(), deps.uptimeSeconds(), collected?.telemetry));

    const request = new AbortController();
    let grace: NodeJS.Timeout | undefined;
    const onShutdown = () => {
      grace = setTimeout(() => request.abort(), SHUTDOWN_GRACE_MS);
    };
    shutdown.addEventListener('abort', onShutdown, { once: true });
    if (shutdown.aborted) onShutdown();
    try {
      for (let round = 0; round < maxBatches && !(round > 0 && shutdown.aborted); round++) {
        const batch = journal.pending(batchMaxBytes, batchMaxCount);
        const first = batch[0];
        const last = batch.at(-1);
        if (!first || !last) break;
        const ack = deps.sendBatch ? await deps.sendBatch(config, batch, request.signal) : await deps.send(config, first, request.signal);
        intervalSeconds = deps.intervalOverride?.() ?? ack.heartbeatIntervalSeconds;
        // lastSequence is the highest the API holds for the device, maybe above this batch:
        // only what was in the batch is acknowledged.
        const upTo = Math.min(ack.lastSequence, last.sequence);
        if (upTo < first.sequence) {
          log.warn('heartbeats not acknowledged', { sequence: first.sequence, count: batch.length, lastSequence: ack.lastSequence });
          break;
        }
        await journal.acknowledge(upTo);
        state = recordAck(state, upTo, ack, deps.now());
        await store.save(state);
        if (upTo >= sequence) {
          await collected
            ?.acknowledged()
            .catch((err: unknown) => log.warn('cannot record the sent inventory', { error: errorMessage(err) }));
        }
        log.info('heartbeat acknowledged', {
          sequence: upTo,
          accepted: ack.accepted,
          duplicates: ack.duplicates,
          lastSequence: ack.lastSequence,
          ...(deps.journal ? { batch: batch.length, backlog: journal.count } : {}),
        });
        if (upTo < last.sequence) break; // partly acknowledged: the rest at the next interval
      }
    } catch (err) {
      const fields = { sequence, error: errorMessage(err), ...(deps.journal ? { backlog: journal.count } : {}) };
      if (err instanceof HeartbeatRejectedError) log.warn('heartbeat rejected', { ...fields, status: err.status, code: err.code });
      else if (err instanceof ApiUnreachableError) log.warn('heartbeat not delivered: API unreachable', fields);
      else throw err; // local trouble (state file, journal): let systemd restart us
    } finally {
      shutdown.removeEventListener('abort', onShutdown);
      if (grace) clearTimeout(grace);
    }

    await (deps.sleep ?? abortableSleep)(jitteredDelayMs(deps.intervalOverride?.() ?? intervalSeconds, deps.random), shutdown);
  }
  log.info('agent stopped', { sequence: state.sequence });
  return state;
}
