import {
  AGENT_PROTOCOL_VERSION,
  HeartbeatAckSchema,
  HeartbeatBatchSchema,
  HeartbeatSchema,
  MAX_UPTIME_SECONDS,
  type Heartbeat,
  type HeartbeatAck,
} from '@xspectre/contracts';
import type { Telemetry } from './collectors/telemetry.js';
import type { AgentConfig } from './config.js';
import { printable } from './errors.js';
import { apiEndpoint, postJson } from './http.js';
import { AGENT_VERSION } from './version.js';

export const HEARTBEAT_TIMEOUT_MS = 10_000;
export const MIN_INTERVAL_SECONDS = 5;
export const MAX_INTERVAL_SECONDS = 3600;

export function buildHeartbeat(deviceId: string, sequence: number, now: Date, uptimeSeconds: number, telemetry: Telemetry = {}): Heartbeat {
  return HeartbeatSchema.parse({
    ...telemetry,
    protocolVersion: AGENT_PROTOCOL_VERSION,
    deviceId,
    sequence,
    sentAt: now.toISOString(),
    agentVersion: AGENT_VERSION,
    uptimeSeconds: Math.min(MAX_UPTIME_SECONDS, Math.max(0, Math.floor(uptimeSeconds))),
  });
}

/** The interval ±10 %, in milliseconds (`random` in [0, 1)). */
export function jitteredDelayMs(intervalSeconds: number, random: () => number = Math.random): number {
  const interval = Math.min(MAX_INTERVAL_SECONDS, Math.max(MIN_INTERVAL_SECONDS, intervalSeconds)) * 1000;
  return Math.round(interval * (0.9 + 0.2 * random()));
}

/** The API answered, but not with an acknowledgement. */
export class HeartbeatRejectedError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`HTTP ${status} ${code}: ${detail}`);
    this.name = 'HeartbeatRejectedError';
  }
}

/** POSTs one heartbeat to `<apiUrl>/agent/heartbeats`. Throws ApiUnreachableError or HeartbeatRejectedError. */
export async function sendHeartbeat(config: AgentConfig, heartbeat: Heartbeat, signal?: AbortSignal): Promise<HeartbeatAck> {
  return postHeartbeats(config, heartbeat, signal);
}

/** POSTs `{ heartbeats }` (1..1000, oldest first) to `<apiUrl>/agent/heartbeats`. Throws like sendHeartbeat. */
export async function sendHeartbeats(config: AgentConfig, heartbeats: readonly Heartbeat[], signal?: AbortSignal): Promise<HeartbeatAck> {
  return postHeartbeats(config, HeartbeatBatchSchema.parse({ heartbeats }), signal);
}

async function postHeartbeats(config: AgentConfig, payload: unknown, signal?: AbortSignal): Promise<HeartbeatAck> {
  const response = await postJson(apiEndpoint(config.apiUrl, 'agent/heartbeats'), payload, {
    timeoutMs: HEARTBEAT_TIMEOUT_MS,
    bearer: config.deviceCredential,
    ...(signal ? { signal } : {}),
  });
  if (response.status === 200 || response.status === 201) {
    const ack = HeartbeatAckSchema.safeParse(response.body);
    if (ack.success) return ack.data;
    throw new HeartbeatRejectedError(response.status, 'BAD_ANSWER', 'the acknowledgement does not follow the contract');
  }
  const problem = response.problem;
  throw new HeartbeatRejectedError(
    response.status,
    problem ? printable(problem.code, 80) : 'NO_PROBLEM_BODY',
    problem ? printable(problem.detail || problem.title) : 'no problem description',
  );
}
