import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ensureDirectory, writeFileAtomic } from '../atomic-file.js';

/**
 * One file per accepted command, `<state dir>/commands/journal/<commandId>.json`: `started` is
 * written (fsync'd, atomically) before the action starts, the result when it is known, and
 * `reported` once the API has it. A command that has an entry is never started again: after a
 * crash or restart its result is read back (the transient unit's, see executor.ts) or it is
 * reported `interrupted`.
 */
export const JOURNAL_DIR = 'journal';

export const FinalResultSchema = z.strictObject({
  status: z.enum(['succeeded', 'failed', 'interrupted']),
  exitCode: z.number().int().optional(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  stdoutTruncated: z.boolean().optional(),
  stderrTruncated: z.boolean().optional(),
  reason: z.string().max(500).optional(),
});
export type FinalResult = z.infer<typeof FinalResultSchema>;

export const JournalEntrySchema = z.strictObject({
  v: z.literal(1),
  commandId: z.uuid(),
  action: z.string(),
  params: z.record(z.string(), z.unknown()),
  nonce: z.string(),
  expiresAt: z.iso.datetime(),
  /** Local time the action was started. */
  startedAt: z.iso.datetime(),
  /** Boot id and PID 1's start (boot-marker.ts) when it was started: a reboot shows as a new marker. */
  bootMarker: z.string(),
  /** The transient systemd unit it runs in, when it has one. */
  unit: z.string().nullable(),
  /** The API accepted `running` (an `interrupted` report needs it first). */
  runningReported: z.boolean(),
  result: FinalResultSchema.nullable(),
  finishedAt: z.iso.datetime().nullable(),
  /** The API accepted the result (or refused it for good). */
  reported: z.boolean(),
});
export type JournalEntry = z.infer<typeof JournalEntrySchema>;

export type NewJournalEntry = Pick<JournalEntry, 'commandId' | 'action' | 'params' | 'nonce' | 'expiresAt' | 'bootMarker' | 'unit'>;

export class CommandAlreadyStartedError extends Error {
  constructor(readonly commandId: string) {
    super(`command ${commandId} was started before; it is never started twice`);
    this.name = 'CommandAlreadyStartedError';
  }
}

const ENTRY_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/;

export class CommandJournal {
  private constructor(
    readonly dir: string,
    private readonly entries: Map<string, JournalEntry>,
  ) {}

  /**
   * Loads every entry. A damaged entry (outside damage: writes are atomic) still proves the
   * command was accepted: it becomes `interrupted`, never run again. `warnings` name them.
   */
  static async open(dir: string, now: Date): Promise<{ journal: CommandJournal; warnings: string[] }> {
    await ensureDirectory(dir);
    const entries = new Map<string, JournalEntry>();
    const warnings: string[] = [];
    const journal = new CommandJournal(dir, entries);
    for (const name of (await readdir(dir)).sort()) {
      const match = ENTRY_FILE.exec(name);
      if (!match) continue;
      const commandId = match[1]!;
      const parsed = JournalEntrySchema.safeParse(safeJson(await readFile(join(dir, name), 'utf8')));
      if (parsed.success && parsed.data.commandId === commandId) {
        entries.set(commandId, parsed.data);
        continue;
      }
      warnings.push(`command journal entry ${name} was damaged: the command is reported interrupted, never run again`);
      await journal.write({
        v: 1,
        commandId,
        action: 'unknown',
        params: {},
        nonce: '',
        expiresAt: now.toISOString(),
        startedAt: now.toISOString(),
        bootMarker: '',
        unit: null,
        runningReported: false,
        result: { status: 'interrupted', reason: "the agent's record of this command was damaged; it is not run again" },
        finishedAt: now.toISOString(),
        reported: false,
      });
    }
    return { journal, warnings };
  }

  get(commandId: string): JournalEntry | undefined {
    return this.entries.get(commandId);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Records `started`, durably, before the action starts. Throws CommandAlreadyStartedError for a command seen before. */
  async begin(entry: NewJournalEntry, now: Date): Promise<JournalEntry> {
    if (this.entries.has(entry.commandId)) throw new CommandAlreadyStartedError(entry.commandId);
    const { commandId, action, params, nonce, expiresAt, bootMarker, unit } = entry;
    const started: JournalEntry = {
      v: 1,
      commandId,
      action,
      params,
      nonce,
      expiresAt,
      bootMarker,
      unit,
      startedAt: now.toISOString(),
      runningReported: false,
      result: null,
      finishedAt: null,
      reported: false,
    };
    await this.write(started);
    return started;
  }

  async markRunningReported(commandId: string): Promise<JournalEntry> {
    return this.update(commandId, { runningReported: true });
  }

  async finish(commandId: string, result: FinalResult, now: Date): Promise<JournalEntry> {
    return this.update(commandId, { result: FinalResultSchema.parse(result), finishedAt: now.toISOString() });
  }

  async markReported(commandId: string): Promise<JournalEntry> {
    return this.update(commandId, { reported: true });
  }

  /** Started, no result yet: to be resolved (after a restart) before anything else runs. */
  unfinished(): JournalEntry[] {
    return [...this.entries.values()].filter((e) => e.result === null);
  }

  /** A result the API does not have yet. */
  unreported(): JournalEntry[] {
    return [...this.entries.values()].filter((e) => e.result !== null && !e.reported);
  }

  /** Deletes reported entries whose command expired more than `keepMs` before `now`. */
  async prune(now: Date, keepMs: number): Promise<number> {
    let removed = 0;
    for (const entry of [...this.entries.values()]) {
      if (!entry.reported || Date.parse(entry.expiresAt) + keepMs > now.getTime()) continue;
      await unlink(this.path(entry.commandId)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      this.entries.delete(entry.commandId);
      removed++;
    }
    return removed;
  }

  private async update(commandId: string, patch: Partial<JournalEntry>): Promise<JournalEntry> {
    const entry = this.entries.get(commandId);
    if (!entry) throw new Error(`no journal entry for command ${commandId}`);
    const next = { ...entry, ...patch };
    await this.write(next);
    return next;
  }

  private path(commandId: string): string {
    return join(this.dir, `${commandId}.json`);
  }

  private async write(entry: JournalEntry): Promise<void> {
    const valid = JournalEntrySchema.parse(entry);
    // writeFileAtomic fsyncs the file and the directory before it returns.
    await writeFileAtomic(this.path(valid.commandId), `${JSON.stringify(valid)}\n`, 0o600);
    this.entries.set(valid.commandId, valid);
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
