import { readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { COMMAND_TTL_MS } from '@xspectre/contracts';
import { ensureDirectory, writeFileAtomic } from '../atomic-file.js';

/**
 * Nonces (with their command ids) of the commands this device accepted, kept in
 * `<state dir>/commands/nonces.json` until their command expired (+ clock skew + a margin), so
 * a replay is refused also after a restart. Only accepted commands are recorded: a forged or
 * refused command leaves no trace, so nobody can use up a nonce the API will still send.
 */
export const NONCES_FILE = 'nonces.json';
export const DEFAULT_MAX_NONCES = 4096;
/** Kept this long past expiry + skew: the estimate of the API's clock may step back a little. */
export const NONCE_RETENTION_MARGIN_MS = 5 * 60_000;

const EntrySchema = z.strictObject({
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
  commandId: z.uuid(),
  keepUntil: z.iso.datetime(),
});
const NoncesFileSchema = z.strictObject({
  v: z.literal(1),
  entries: z.array(EntrySchema),
  /** Set when the file was found damaged: nothing is accepted before then (the lost nonces have expired by then). */
  refuseUntil: z.iso.datetime().optional(),
});
type NoncesFile = z.infer<typeof NoncesFileSchema>;

/** `redelivery`: this very command again (same id, same nonce); `replay`: a nonce or command id seen with another partner. */
export type NonceCheck = { kind: 'new' } | { kind: 'redelivery' } | { kind: 'replay' } | { kind: 'unavailable'; until: string };

export class ReplayGuardFullError extends Error {
  constructor(readonly max: number) {
    super(`${max} unexpired command nonces are already kept`);
    this.name = 'ReplayGuardFullError';
  }
}

export interface ReplayGuardOptions {
  maxEntries?: number;
  /** The tolerated clock skew of verification; entries live that much longer. */
  maxClockSkewMs: number;
}

export class ReplayGuard {
  private constructor(
    readonly file: string,
    private data: NoncesFile,
    private readonly options: Required<ReplayGuardOptions>,
  ) {}

  /**
   * Loads `<dir>/nonces.json`. A damaged file (outside damage: writes are atomic) is moved
   * aside and the guard refuses every command until any nonce it held has expired, rather
   * than forget nonces that could still be replayed. `warning` says so.
   */
  static async open(dir: string, now: Date, options: ReplayGuardOptions): Promise<{ guard: ReplayGuard; warning?: string }> {
    const file = join(dir, NONCES_FILE);
    const full = { maxEntries: options.maxEntries ?? DEFAULT_MAX_NONCES, maxClockSkewMs: options.maxClockSkewMs };
    let raw: string | undefined;
    try {
      raw = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (raw === undefined) return { guard: new ReplayGuard(file, { v: 1, entries: [] }, full) };
    const parsed = NoncesFileSchema.safeParse(safeJson(raw));
    if (parsed.success) return { guard: new ReplayGuard(file, parsed.data, full) };
    const aside = `${file}.corrupt-${Date.now()}`;
    await rename(file, aside);
    const refuseUntil = new Date(now.getTime() + COMMAND_TTL_MS + 2 * full.maxClockSkewMs + NONCE_RETENTION_MARGIN_MS).toISOString();
    const guard = new ReplayGuard(file, { v: 1, entries: [], refuseUntil }, full);
    await guard.save();
    return { guard, warning: `${file} was damaged (moved to ${aside}): commands are refused until ${refuseUntil}` };
  }

  get size(): number {
    return this.data.entries.length;
  }

  /** What `commandId` with `nonce` is; reads only. `now` is the estimate of the API's clock. */
  check(commandId: string, nonce: string, now: Date): NonceCheck {
    if (this.data.refuseUntil && now.getTime() < Date.parse(this.data.refuseUntil))
      return { kind: 'unavailable', until: this.data.refuseUntil };
    const byNonce = this.data.entries.find((e) => e.nonce === nonce);
    if (byNonce) return byNonce.commandId === commandId ? { kind: 'redelivery' } : { kind: 'replay' };
    if (this.data.entries.some((e) => e.commandId === commandId)) return { kind: 'replay' };
    return { kind: 'new' };
  }

  /**
   * Records an accepted command (durably, before it runs). Drops expired entries first; when
   * `maxEntries` unexpired ones remain, throws ReplayGuardFullError: the command is refused,
   * no nonce is forgotten early.
   */
  async record(commandId: string, nonce: string, expiresAt: string, now: Date): Promise<void> {
    const entries = this.live(now);
    if (entries.some((e) => e.nonce === nonce && e.commandId === commandId)) return;
    if (entries.length >= this.options.maxEntries) throw new ReplayGuardFullError(this.options.maxEntries);
    const keepUntil = new Date(Date.parse(expiresAt) + this.options.maxClockSkewMs + NONCE_RETENTION_MARGIN_MS).toISOString();
    const next: NoncesFile = { v: 1, entries: [...entries, { nonce, commandId, keepUntil }] };
    if (this.data.refuseUntil && now.getTime() < Date.parse(this.data.refuseUntil)) next.refuseUntil = this.data.refuseUntil;
    const previous = this.data;
    this.data = next;
    try {
      await this.save();
    } catch (err) {
      this.data = previous;
      throw err;
    }
  }

  /** Drops expired entries (and a past refusal) from the file. */
  async prune(now: Date): Promise<number> {
    const entries = this.live(now);
    const dropped = this.data.entries.length - entries.length;
    const refusalOver = this.data.refuseUntil !== undefined && now.getTime() >= Date.parse(this.data.refuseUntil);
    if (dropped === 0 && !refusalOver) return 0;
    this.data = { v: 1, entries, ...(refusalOver || !this.data.refuseUntil ? {} : { refuseUntil: this.data.refuseUntil }) };
    await this.save();
    return dropped;
  }

  private live(now: Date) {
    return this.data.entries.filter((e) => Date.parse(e.keepUntil) > now.getTime());
  }

  private async save(): Promise<void> {
    await ensureDirectory(dirname(this.file));
    await writeFileAtomic(this.file, `${JSON.stringify(this.data)}\n`, 0o600);
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
