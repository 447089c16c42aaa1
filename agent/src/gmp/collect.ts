import { MAX_SCANNER_STATS_TASKS, ScannerStatsSchema, type ScannerStats, type ScannerTask } from '@xspectre/contracts';
import { DEFAULT_COMMAND_TIMEOUT_MS, GmpConnection, type GmpAnswer } from './client.js';
import { GmpError } from './errors.js';
import {
  readFeatures,
  readFeeds,
  readGmpVersion,
  readReportErrorCount,
  readScanners,
  readScannerVersion,
  readTasks,
  readTotal,
} from './readers.js';
import { authenticateCommand, gmpElement, type GmpAttributes } from './request.js';

export interface ScannerStatsOptions {
  /** gvmd's socket (default /run/gvmd/gvmd.sock). */
  socketPath?: string;
  username: string;
  password: string;
  connectTimeoutMs?: number;
  /**
   * Deadline of the whole session (default 60 s): on expiry the command in flight is abandoned
   * and the poll reports `timeout`, however many commands each stayed within their own deadline.
   */
  sessionTimeoutMs?: number;
  /** Deadline of each command (each get_tasks page its own). */
  commandTimeoutMs?: number;
  /** Per-command deadlines over `commandTimeoutMs`, e.g. `{ get_tasks: 60_000 }`. */
  commandTimeouts?: Partial<Record<string, number>>;
  maxResponseBytes?: number;
  /** Tasks per get_tasks page (the agent stops at 200 tasks in all). */
  pageSize?: number;
  /** verify_scanner calls per poll. */
  maxScannerChecks?: number;
  /** get_reports calls per poll for last reports' error counts; the rest wait for later polls. */
  maxReportLookups?: number;
  /** Error counts of finished reports, kept between polls (a finished report does not change). */
  cache?: ScannerStatsCache;
  now?: () => Date;
}

/** Error counts by report id, bounded; keep one per agent and pass it to every poll. */
export class ScannerStatsCache {
  private readonly errorCounts = new Map<string, number>();
  constructor(private readonly maxEntries = 2_000) {}

  get(reportId: string): number | undefined {
    return this.errorCounts.get(reportId);
  }

  set(reportId: string, errors: number): void {
    if (this.errorCounts.size >= this.maxEntries) this.errorCounts.delete(this.errorCounts.keys().next().value!);
    this.errorCounts.set(reportId, errors);
  }
}

export const DEFAULT_SESSION_TIMEOUT_MS = 60_000;

/** Statuses after which a task's last report is final (its error count can be cached). */
const FINISHED = new Set(['Done', 'Stopped', 'Interrupted']);

const emptyStats = (collectedAt: string): ScannerStats => ({
  collectedAt,
  gmp: { reachable: false, error: null, latencyMs: null, version: null, features: null },
  feeds: [],
  feedOwnerSet: null,
  scanners: [],
  tasks: [],
  tasksTruncated: false,
  totals: { tasks: null, targets: null, credentials: null, reports: null },
});

/**
 * One GMP session: get_version, authenticate, feeds, scanners (verified), up to 200 tasks
 * (paged), totals of targets, credentials and reports (rows=1 queries), error counts of the tasks'
 * last reports, and feature toggles. Never throws: a session that fails answers
 * `gmp.reachable: false` with the typed error code; a command refused for permission leaves its
 * part empty and names the error while the rest is still collected.
 *
 * The output is assembled field by field from the readers' allow-lists and checked against
 * ScannerStatsSchema before it is returned.
 */
export async function collectScannerStats(options: ScannerStatsOptions): Promise<ScannerStats> {
  const now = options.now ?? (() => new Date());
  let stats = emptyStats(now().toISOString());
  const timeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  let connection: GmpConnection | null = null;
  const deadline = (command: string) => options.commandTimeouts?.[command] ?? timeout;
  const send = (command: string, attributes: GmpAttributes = {}, inner = ''): Promise<GmpAnswer> =>
    connection!.send(command, gmpElement(command, attributes, inner), deadline(command));
  /** A complete answer refusing one part (permission, a missing object): note it, go on. */
  const partial = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof GmpError) || err.status === null || err.code === 'auth_failed') throw err;
      stats.gmp.error ??= { code: err.code, message: err.message.slice(0, 300) };
      return undefined;
    }
  };

  const sessionMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  const expired = new GmpError('timeout', `the GMP session took longer than ${sessionMs} ms`);
  let isExpired = false;
  const sessionTimer = setTimeout(() => {
    isExpired = true;
    connection?.abort(expired);
  }, sessionMs);

  try {
    connection = await GmpConnection.connect({
      socketPath: options.socketPath,
      connectTimeoutMs: options.connectTimeoutMs,
      maxResponseBytes: options.maxResponseBytes,
    });
    if (isExpired) throw expired;
    const started = process.hrtime.bigint();
    const version = await send('get_version');
    stats.gmp.latencyMs = Number((process.hrtime.bigint() - started) / 1_000_000n);
    stats.gmp.version = readGmpVersion(version.root);
    await connection.send('authenticate', authenticateCommand(options.username, options.password), deadline('authenticate'));

    await partial(async () => {
      const feeds = readFeeds((await send('get_feeds')).root);
      stats.feeds = feeds.feeds;
      stats.feedOwnerSet = feeds.feedOwnerSet;
    });

    const scanners = (await partial(async () => readScanners((await send('get_scanners', { filter: 'rows=64 first=1' })).root))) ?? [];
    const maxChecks = options.maxScannerChecks ?? 8;
    for (const [index, scanner] of scanners.entries()) {
      let reachable: boolean | null = null;
      let scannerVersion: string | null = null;
      if (index < maxChecks) {
        try {
          scannerVersion = readScannerVersion((await send('verify_scanner', { scanner_id: scanner.id })).root);
          reachable = true;
        } catch (err) {
          if (!(err instanceof GmpError) || err.status === null) throw err;
          // 503 "Service unavailable" and internal errors: the scanner is down; a permission: unknown.
          reachable = err.code === 'permission' ? null : false;
        }
      }
      stats.scanners.push({ id: scanner.id, name: scanner.name, type: scanner.type, reachable, version: scannerVersion });
    }

    await partial(() => collectTasks(send, stats, options.pageSize ?? 100, now()));
    stats.totals.targets =
      (await partial(async () => readTotal((await send('get_targets', { filter: 'rows=1 first=1' })).root, 'target'))) ?? null;
    stats.totals.credentials =
      (await partial(async () => readTotal((await send('get_credentials', { filter: 'rows=1 first=1' })).root, 'credential'))) ?? null;
    stats.totals.reports =
      (await partial(async () =>
        readTotal(
          (await send('get_reports', { filter: 'rows=1 first=1', report_filter: 'rows=1 first=1', details: false })).root,
          'report',
        ),
      )) ?? null;
    await collectErrorCounts(send, stats.tasks, options);

    // Last: gvmd before 23.8 does not know get_features and ends the session on it.
    try {
      stats.gmp.features = readFeatures((await send('get_features')).root);
    } catch (err) {
      if (!(err instanceof GmpError) || err.status === null) throw err;
    }
    stats.gmp.reachable = true;
  } catch (err) {
    const failure = err instanceof GmpError ? err : new GmpError('protocol', err instanceof Error ? err.message : String(err));
    // A failed session sends no half-read parts (a task list cut after one page would look whole):
    // only what get_version told, and why it failed.
    const { latencyMs, version } = stats.gmp;
    stats = emptyStats(stats.collectedAt);
    stats.gmp = {
      reachable: false,
      error: { code: failure.code, message: failure.message.slice(0, 300) },
      latencyMs,
      version,
      features: null,
    };
  } finally {
    clearTimeout(sessionTimer);
    connection?.close();
  }
  const checked = ScannerStatsSchema.safeParse(stats);
  if (checked.success) return checked.data;
  // The readers clip and check every value, so this is a bug here, not gvmd's: say where, send nothing else.
  const fallback = emptyStats(stats.collectedAt);
  const where = checked.error.issues[0]?.path.join('.') ?? '';
  fallback.gmp.error = { code: 'protocol', message: `collected values outside the contract at ${where}`.slice(0, 300) };
  return fallback;
}

/**
 * Without an account (the monitor account is not provisioned yet) gvmd answers nothing but
 * get_version: reachability, latency and version only. The session worked, so `reachable` is
 * true; the rest of the report is empty and `error` (permission) says why, which holds every
 * check on gvmd's data rather than judging empty lists.
 */
export async function collectGmpVersion(
  options: Pick<ScannerStatsOptions, 'socketPath' | 'connectTimeoutMs' | 'commandTimeoutMs' | 'maxResponseBytes' | 'now'>,
): Promise<ScannerStats> {
  const stats = emptyStats((options.now ?? (() => new Date()))().toISOString());
  let connection: GmpConnection | null = null;
  try {
    connection = await GmpConnection.connect({
      socketPath: options.socketPath,
      connectTimeoutMs: options.connectTimeoutMs,
      maxResponseBytes: options.maxResponseBytes,
    });
    const started = process.hrtime.bigint();
    const version = await connection.send(
      'get_version',
      gmpElement('get_version', {}, ''),
      options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    );
    stats.gmp.latencyMs = Number((process.hrtime.bigint() - started) / 1_000_000n);
    stats.gmp.version = readGmpVersion(version.root);
    stats.gmp.reachable = true;
    stats.gmp.error = { code: 'permission', message: 'no monitor account on this device yet: only get_version was asked' };
  } catch (err) {
    const failure = err instanceof GmpError ? err : new GmpError('protocol', err instanceof Error ? err.message : String(err));
    stats.gmp = { ...stats.gmp, reachable: false, error: { code: failure.code, message: failure.message.slice(0, 300) }, features: null };
  } finally {
    connection?.close();
  }
  return ScannerStatsSchema.parse(stats);
}

/**
 * get_tasks page by page until 200 tasks, the total, or an empty page. `first` advances by what
 * came back, not by what was asked: gvmd caps rows at the user's "Max Rows Per Page" setting.
 */
async function collectTasks(
  send: (command: string, attributes?: GmpAttributes) => Promise<GmpAnswer>,
  stats: ScannerStats,
  pageSize: number,
  now: Date,
) {
  const rows = Math.max(1, Math.min(pageSize, MAX_SCANNER_STATS_TASKS));
  const seen = new Set<string>();
  let first = 1;
  for (let pages = 0; pages < MAX_SCANNER_STATS_TASKS && stats.tasks.length < MAX_SCANNER_STATS_TASKS; pages++) {
    const answer = await send('get_tasks', { filter: `first=${first} rows=${rows} sort=name`, details: false });
    const total = readTotal(answer.root, 'task');
    if (first === 1) stats.totals.tasks = total;
    const page = readTasks(answer.root, now);
    for (const task of page) {
      if (stats.tasks.length >= MAX_SCANNER_STATS_TASKS || seen.has(task.id)) continue;
      seen.add(task.id);
      stats.tasks.push(task);
    }
    first += page.length;
    if (page.length === 0 || (total !== null && first > total)) break;
  }
  stats.tasksTruncated =
    stats.totals.tasks !== null ? stats.totals.tasks > stats.tasks.length : stats.tasks.length >= MAX_SCANNER_STATS_TASKS;
}

/** Error counts of last reports: from the cache, else get_reports (details=0) for a few per poll. */
async function collectErrorCounts(
  send: (command: string, attributes?: GmpAttributes) => Promise<GmpAnswer>,
  tasks: ScannerTask[],
  options: ScannerStatsOptions,
): Promise<void> {
  let lookups = options.maxReportLookups ?? 20;
  for (const task of tasks) {
    const report = task.lastReport;
    if (report === null) continue;
    const cached = options.cache?.get(report.id);
    if (cached !== undefined) {
      report.errorCount = cached;
      continue;
    }
    if (lookups <= 0) continue;
    lookups--;
    const answer = await send('get_reports', { report_id: report.id, details: false, filter: 'rows=1 first=1' }).catch((err: unknown) => {
      if (err instanceof GmpError && err.status !== null) return null; // gone meanwhile, or not allowed
      throw err;
    });
    if (answer === null) continue;
    report.errorCount = readReportErrorCount(answer.root);
    if (report.errorCount !== null && FINISHED.has(task.status)) options.cache?.set(report.id, report.errorCount);
  }
}
