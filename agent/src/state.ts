import { randomBytes } from 'node:crypto';
import { link, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { HeartbeatAck } from '@xspectre/contracts';
import { ensureDirectory, writeFileAtomic } from './atomic-file.js';
import { AgentError, ExitCode } from './errors.js';

export const STATE_FILE = 'state.json';
export const SALT_FILE = 'installation-salt';

/** `<state dir>/state.json`: survives restarts and re-enrollment. */
export const AgentStateSchema = z.object({
  /** The last sequence number handed out (persisted before the message is sent). */
  sequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  lastAck: z
    .object({
      sequence: z.number().int().min(0),
      /** Local time the acknowledgement arrived. */
      at: z.iso.datetime({ offset: true }),
      serverTime: z.string().optional(),
    })
    .nullable(),
});
export type AgentState = z.infer<typeof AgentStateSchema>;

export const INITIAL_STATE: AgentState = Object.freeze({ sequence: 0, lastAck: null });

/** The state with the next sequence number taken. */
export function takeSequence(state: AgentState): AgentState {
  return { ...state, sequence: state.sequence + 1 };
}

/**
 * Records an acknowledgement. If the API has already seen a higher sequence (the state file
 * was lost or restored from an old backup), jump past it so later messages are not taken
 * for replays.
 */
export function recordAck(state: AgentState, sentSequence: number, ack: HeartbeatAck, at: Date): AgentState {
  return {
    sequence: Math.max(state.sequence, ack.lastSequence),
    lastAck: { sequence: sentSequence, at: at.toISOString(), serverTime: ack.serverTime },
  };
}

export interface LoadedState {
  state: AgentState;
  /** Set when an unreadable state file was moved aside and the state started over. */
  warning?: string;
}

export class StateStore {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = join(dir, STATE_FILE);
  }

  async load(): Promise<LoadedState> {
    let raw: string;
    try {
      raw = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: INITIAL_STATE };
      throw new AgentError(ExitCode.LOCAL_ERROR, `cannot read ${this.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const parsed = AgentStateSchema.safeParse(safeJson(raw));
    if (parsed.success) return { state: parsed.data };
    // Writes are atomic, so this is outside damage. Keep the evidence and go on: the API's
    // acknowledgement (lastSequence) brings the sequence back past what it has seen.
    const aside = `${this.file}.corrupt-${Date.now()}`;
    await rename(this.file, aside);
    return { state: INITIAL_STATE, warning: `state file was unreadable; moved to ${aside} and started over` };
  }

  /** Reads the state without repairing anything (for `status`). */
  async peek(): Promise<AgentState> {
    try {
      const parsed = AgentStateSchema.safeParse(safeJson(await readFile(this.file, 'utf8')));
      return parsed.success ? parsed.data : INITIAL_STATE;
    } catch {
      return INITIAL_STATE;
    }
  }

  async save(state: AgentState): Promise<void> {
    await ensureDirectory(this.dir);
    await writeFileAtomic(this.file, `${JSON.stringify(AgentStateSchema.parse(state))}\n`, 0o600);
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

const SALT_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The installation salt (part of the hardware fingerprint): random, created once per
 * installation, kept in `<state dir>/installation-salt` with mode 0600.
 */
export async function loadOrCreateInstallationSalt(stateDir: string): Promise<string> {
  const file = join(stateDir, SALT_FILE);
  await ensureDirectory(stateDir);
  let raw = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new AgentError(ExitCode.LOCAL_ERROR, `cannot read ${file}: ${err.code ?? String(err)}`);
  });
  if (raw === undefined) {
    // Complete file under a temp name, then link(): appears whole or not at all, and a
    // concurrent creator wins cleanly (EEXIST).
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFileAtomic(temp, `${randomBytes(32).toString('base64url')}\n`, 0o600);
    try {
      await link(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
    raw = await readFile(file, 'utf8');
  }
  const salt = raw.trim();
  if (!SALT_PATTERN.test(salt)) throw new AgentError(ExitCode.LOCAL_ERROR, `${file} does not hold a valid installation salt`);
  return salt;
}
