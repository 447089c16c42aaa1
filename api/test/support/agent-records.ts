import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What a light lab device's agent has on disk (`<config dir>/state/`): the sequence counter it
 * persists before each heartbeat leaves, its last acknowledgement, and its offline journal.
 * Read-only, from outside the agent: tests compare it with what the API stored.
 */
export interface AgentRecord {
  /** The last sequence handed out (sequences start at 1 after enrollment). */
  sequence: number;
  /** The highest sequence the API acknowledged, if any. */
  lastAckSequence: number | null;
  /** The journal's ack pointer (meta.json). */
  journalAcknowledged: number;
  /** Journaled heartbeats above the ack pointer: not acknowledged yet. */
  pending: number[];
  /** Every heartbeat line still in the journal file (acknowledged ones stay until compaction): sequence → carried metrics. */
  journaled: Map<number, { hasMetrics: boolean }>;
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The device id the agent enrolled as (agent.conf). */
export async function agentDeviceId(configDir: string): Promise<string> {
  const config = (await readJson(join(configDir, 'agent.conf'))) as { deviceId?: string } | undefined;
  if (!config?.deviceId) throw new Error(`${configDir}/agent.conf has no deviceId`);
  return config.deviceId;
}

/** The agent's state and journal as they are on disk now (state.json and meta.json are written atomically). */
export async function readAgentRecord(configDir: string): Promise<AgentRecord> {
  const stateDir = join(configDir, 'state');
  const state = (await readJson(join(stateDir, 'state.json'))) as { sequence: number; lastAck: { sequence: number } | null } | undefined;
  if (!state) throw new Error(`${stateDir}/state.json is missing`);
  const meta = (await readJson(join(stateDir, 'journal', 'meta.json'))) as { acknowledged: number } | undefined;
  const acknowledged = meta?.acknowledged ?? 0;
  const text = await readFile(join(stateDir, 'journal', 'heartbeats.jsonl'), 'utf8').catch(() => '');
  const journaled = new Map<number, { hasMetrics: boolean }>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const heartbeat = JSON.parse(line) as { sequence: number; metrics?: unknown };
      journaled.set(heartbeat.sequence, { hasMetrics: heartbeat.metrics !== undefined });
    } catch {
      /* a torn last line: the agent ignores it too */
    }
  }
  const pending = [...journaled.keys()].filter((s) => s > acknowledged).sort((a, b) => a - b);
  return {
    sequence: state.sequence,
    lastAckSequence: state.lastAck?.sequence ?? null,
    journalAcknowledged: acknowledged,
    pending,
    journaled,
  };
}

/**
 * Failed deliveries in an agent's log (`<config dir>/agent.log`, JSON lines), by kind:
 * `unreachable` (no HTTP answer) or `HTTP <status> <code>` (the API answered with an error).
 */
export async function failedDeliveries(configDir: string): Promise<Map<string, number>> {
  const text = await readFile(join(configDir, 'agent.log'), 'utf8').catch(() => '');
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: string; status?: number; code?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const kind =
      entry.msg === 'heartbeat not delivered: API unreachable'
        ? 'unreachable'
        : entry.msg === 'heartbeat rejected'
          ? `HTTP ${entry.status} ${entry.code}`
          : undefined;
    if (kind) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}
