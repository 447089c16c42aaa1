import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Heartbeat, HeartbeatAck } from '@xspectre/contracts';
import { parseFlags } from './args.js';
import type { CliContext } from './cli-context.js';
import { loadAgentConfig, resolvePaths, type AgentConfig } from './config.js';
import { errorMessage, ExitCode } from './errors.js';
import { DEFAULT_DOCKER_SOCKET, DockerCollector } from './collectors/docker.js';
import { InventoryTracker } from './collectors/inventory.js';
import { ServicesCollector } from './collectors/services.js';
import { SystemCollector } from './collectors/system.js';
import { telemetrySource, type TelemetrySource } from './collectors/telemetry.js';
import { buildHeartbeat, HeartbeatRejectedError, jitteredDelayMs, sendHeartbeat } from './heartbeat.js';
import { ApiUnreachableError } from './http.js';
import { jsonLogger, type Logger } from './log.js';
import { recordAck, StateStore, takeSequence, type AgentState } from './state.js';
import { AGENT_VERSION } from './version.js';

/** After SIGTERM an in-flight request gets this long to finish before it is abandoned. */
export const SHUTDOWN_GRACE_MS = 3000;

const FLAGS = { config: { type: 'string' }, 'state-dir': { type: 'string' } } as const;

export async function runCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const flags = parseFlags('run', argv, FLAGS);
  const paths = resolvePaths({ config: flags.string('config'), stateDir: flags.string('state-dir') }, ctx.env);
  const shutdown = ctx.shutdownSignal();
  const log = jsonLogger(ctx.stdout, ctx.now);
  const config = await loadAgentConfig(paths.configPath);
  const store = new StateStore(paths.stateDir);
  const loaded = await store.load();
  if (loaded.warning) log.warn(loaded.warning);

  await heartbeatLoop({
    config,
    store,
    state: loaded.state,
    log,
    shutdown,
    now: ctx.now,
    uptimeSeconds: () => os.uptime(),
    send: sendHeartbeat,
    telemetry: telemetrySource(
      {
        metrics: new SystemCollector(),
        services: new ServicesCollector(config.watchUnits ?? [], log),
        docker: new DockerCollector(ctx.env.XSPECTRE_DOCKER_SOCKET?.trim() || DEFAULT_DOCKER_SOCKET),
        inventory: new InventoryTracker(paths.stateDir),
      },
      log,
    ),
  });
  return ExitCode.OK;
}

export interface HeartbeatLoopDeps {
  config: AgentConfig;
  store: Pick<StateStore, 'save'>;
  state: AgentState;
  log: Logger;
  shutdown: AbortSignal;
  now: () => Date;
  uptimeSeconds: () => number;
  send: (config: AgentConfig, heartbeat: Heartbeat, signal: AbortSignal) => Promise<HeartbeatAck>;
  /** Metrics, services, Docker and inventory for each heartbeat (none when absent). */
  telemetry?: TelemetrySource;
  random?: () => number;
  /** Waits between heartbeats; resolves early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const abortableSleep = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

/**
 * Sends a heartbeat right away, then every interval (±10 %) until `shutdown` aborts.
 * The sequence number is persisted before the heartbeat leaves, so it never repeats, even
 * across a crash. A failed heartbeat is logged and the next one goes out at the next interval.
 */
export async function heartbeatLoop(deps: HeartbeatLoopDeps): Promise<AgentState> {
  const { config, store, log, shutdown } = deps;
  let state = deps.state;
  let intervalSeconds = config.heartbeatIntervalSeconds;
  log.info('agent started', {
    version: AGENT_VERSION,
    deviceId: config.deviceId,
    apiUrl: config.apiUrl,
    sequence: state.sequence,
    intervalSeconds,
  });

  while (!shutdown.aborted) {
    const collected = deps.telemetry ? await deps.telemetry.collect() : null;
    state = takeSequence(state);
    await store.save(state);
    const sequence = state.sequence;

    const request = new AbortController();
    let grace: NodeJS.Timeout | undefined;
    const onShutdown = () => {
      grace = setTimeout(() => request.abort(), SHUTDOWN_GRACE_MS);
    };
    shutdown.addEventListener('abort', onShutdown, { once: true });
    if (shutdown.aborted) onShutdown();
    try {
      const heartbeat = buildHeartbeat(config.deviceId, sequence, deps.now(), deps.uptimeSeconds(), collected?.telemetry);
      const ack = await deps.send(config, heartbeat, request.signal);
      state = recordAck(state, sequence, ack, deps.now());
      await store.save(state);
      await collected?.acknowledged().catch((err: unknown) => log.warn('cannot record the sent inventory', { error: errorMessage(err) }));
      intervalSeconds = ack.heartbeatIntervalSeconds;
      log.info('heartbeat acknowledged', { sequence, accepted: ack.accepted, duplicates: ack.duplicates, lastSequence: ack.lastSequence });
    } catch (err) {
      const fields = { sequence, error: errorMessage(err) };
      if (err instanceof HeartbeatRejectedError) log.warn('heartbeat rejected', { ...fields, status: err.status, code: err.code });
      else if (err instanceof ApiUnreachableError) log.warn('heartbeat not delivered: API unreachable', fields);
      else throw err; // local trouble (state file): let systemd restart us
    } finally {
      shutdown.removeEventListener('abort', onShutdown);
      if (grace) clearTimeout(grace);
    }

    await (deps.sleep ?? abortableSleep)(jitteredDelayMs(intervalSeconds, deps.random), shutdown);
  }
  log.info('agent stopped', { sequence: state.sequence });
  return state;
}
