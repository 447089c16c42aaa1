import {
  ScannerFeedUpdateParamsSchema,
  ScannerReportSummaryParamsSchema,
  ScannerRestartParamsSchema,
  type ScannerReportSummary,
} from '@xspectre/contracts';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { GreenboneInstall } from '../scanner/discovery.js';
import { updateFeeds, type FeedUpdateOptions } from '../scanner/action-feed-update.js';
import { provisionMonitor, ProvisionError } from '../scanner/action-provision.js';
import { scrub, type HostRun } from '../scanner/gvmd-cli.js';
import { readMonitorAccount } from '../scanner/monitor-account.js';
import { fetchReportSummary, reportSummaryFailure } from '../scanner/report-summary.js';
import type { FinalResult, JournalEntry } from './command-journal.js';
import { containerActionPath, containerResult, type DockerAnswer } from './docker-actions.js';
import { boundUtf8 } from './output.js';

/**
 * The scanner.* commands (contracts/src/scanner-actions.ts), carried out in the agent's process
 * against the Greenbone install that discovery finds at the time of the command: Engine API calls
 * for containers, gvmd's own command line for the monitor account, GMP for the report summary.
 * No transient unit; each result is bounded and says which step failed.
 */
export const SCANNER_REFRESH = 'scanner.refresh';
export const SCANNER_RESTART = 'scanner.restart';
export const SCANNER_FEED_UPDATE = 'scanner.feed-update';
export const SCANNER_PROVISION_MONITOR = 'scanner.provision-monitor';
export const SCANNER_REPORT_SUMMARY = 'scanner.report-summary';
export const SCANNER_ACTIONS: ReadonlySet<string> = new Set([
  SCANNER_REFRESH,
  SCANNER_RESTART,
  SCANNER_FEED_UPDATE,
  SCANNER_PROVISION_MONITOR,
  SCANNER_REPORT_SUMMARY,
]);
/** Only reads: after an agent restart they are simply run again; the others are reported interrupted. */
const RERUNNABLE: ReadonlySet<string> = new Set([SCANNER_REFRESH, SCANNER_REPORT_SUMMARY]);

export interface ScannerActionsOptions {
  dockerSocket: string;
  /** The agent's state directory: the monitor account file lives there (monitor-account.ts). */
  stateDir: string;
  /** Finds the install now (discovery.ts discoverGreenbone with the agent's settings). */
  discover: () => Promise<GreenboneInstall | null>;
  /** The running GMP poll (integrator.ts currentScannerIntegrator), or null: `refreshNow()` polls at once. */
  integrator?: (() => { refreshNow(): unknown } | null) | undefined;
  /** docker-actions.ts dockerPost on the engine's socket. */
  dockerPost: (path: string) => Promise<DockerAnswer>;
  log: Pick<Logger, 'info' | 'warn'>;
  /** Host programs for a source install's gvmd (default runProcess). */
  run?: HostRun;
  /** Test seams of the feed update (default: the registry pull and Engine API restart). */
  feedUpdate?: Pick<FeedUpdateOptions, 'pull'>;
  now?: () => Date;
}

const ok = (stdout: string): FinalResult => {
  const bounded = boundUtf8(stdout.endsWith('\n') ? stdout : `${stdout}\n`);
  return { status: 'succeeded', exitCode: 0, stdout: bounded.text, stdoutTruncated: bounded.truncated };
};
const failed = (reason: string, stdout?: string): FinalResult => ({
  status: 'failed',
  exitCode: 1,
  reason: reason.slice(0, 500),
  ...(stdout === undefined ? {} : { stdout: boundUtf8(stdout).text }),
});
const NO_INSTALL = 'no Greenbone install found on this device (no gvmd container, gvmd.service or configured GMP socket)';

export class ScannerActions {
  constructor(private readonly options: ScannerActionsOptions) {}

  /** Why this device cannot take the action (checked before anything is recorded), or null. */
  async unsupported(action: string): Promise<string | null> {
    if (action === SCANNER_REFRESH && !this.options.integrator?.()) return 'the scanner integration is not running in this agent';
    return null;
  }

  async run(entry: JournalEntry, signal: AbortSignal): Promise<FinalResult | undefined> {
    try {
      const result = await this.dispatch(entry);
      return signal.aborted ? undefined : result;
    } catch (err) {
      if (signal.aborted) return undefined;
      return failed(`${entry.action}: ${errorMessage(err)}`);
    }
  }

  /** After an agent restart: reads are run again; a change may or may not have happened. */
  async resume(entry: JournalEntry, signal: AbortSignal): Promise<FinalResult | undefined> {
    if (RERUNNABLE.has(entry.action)) return this.run(entry, signal);
    return { status: 'interrupted', reason: `the agent stopped during ${entry.action}; its outcome is unknown` };
  }

  private async dispatch(entry: JournalEntry): Promise<FinalResult> {
    switch (entry.action) {
      case SCANNER_REFRESH:
        return this.refresh();
      case SCANNER_RESTART:
        return this.restart(entry.params);
      case SCANNER_FEED_UPDATE:
        return this.feedUpdate(entry.params);
      case SCANNER_PROVISION_MONITOR:
        return this.provision(entry);
      case SCANNER_REPORT_SUMMARY:
        return this.reportSummary(entry.params);
      default:
        return failed(`no executor for the action ${entry.action}`);
    }
  }

  private refresh(): FinalResult {
    const integrator = this.options.integrator?.();
    if (!integrator) return failed('the scanner integration is not running in this agent');
    // The poll runs on its own; this only asks for it now (its result comes with the next heartbeat).
    void Promise.resolve()
      .then(() => integrator.refreshNow())
      .catch(() => undefined);
    return ok('scanner refresh requested: the next heartbeat carries fresh scanner stats');
  }

  private async restart(raw: unknown): Promise<FinalResult> {
    const params = ScannerRestartParamsSchema.safeParse(raw);
    if (!params.success) return failed('params do not match scanner.restart');
    const { service } = params.data;
    const install = await this.options.discover();
    if (!install) return failed(NO_INSTALL);
    if (install.method !== 'compose')
      return failed(
        `gvmd runs as ${install.method === 'systemd' ? 'a systemd unit' : 'an unknown service'}: scanner.restart restarts containers only`,
      );
    const container = install.coreContainers.get(service);
    if (!container) return failed(`no ${service} container in the compose project ${install.composeProject ?? '(none)'}`);
    let answer: DockerAnswer;
    try {
      answer = await this.options.dockerPost(containerActionPath('restart', container.id));
    } catch (err) {
      return failed(`cannot reach the Docker engine: ${errorMessage(err)}`);
    }
    const result = containerResult('restart', container.name, answer);
    if (result.status === 'succeeded') this.options.log.info('scanner container restarted', { service, container: container.name });
    return result;
  }

  private async feedUpdate(raw: unknown): Promise<FinalResult> {
    const params = ScannerFeedUpdateParamsSchema.safeParse(raw);
    if (!params.success) return failed('params do not match scanner.feed-update');
    const install = await this.options.discover();
    if (!install) return failed(NO_INSTALL);
    if (install.method !== 'compose') return failed('feed updates are for the compose install; a source install runs greenbone-feed-sync');
    const summary = await updateFeeds({
      install,
      dockerSocket: this.options.dockerSocket,
      pruneOldImages: params.data.pruneOldImages,
      ...(this.options.feedUpdate?.pull ? { pull: this.options.feedUpdate.pull } : {}),
    });
    const line = JSON.stringify(summary);
    const failedServices = summary.services.filter((s) => s.outcome === 'failed');
    const failedRestarts = summary.restarted.filter((r) => r.outcome === 'failed');
    this.options.log.info('scanner feed update', {
      services: summary.services.length,
      recreated: summary.services.filter((s) => s.outcome === 'recreated').length,
      failed: failedServices.length,
    });
    if (summary.services.length === 0) return failed(`no feed data containers in the compose project ${summary.project}`, line);
    if (failedServices.length > 0 || failedRestarts.length > 0) {
      const first = failedServices[0];
      const why = first?.outcome === 'failed' ? `${first.service}: ${first.reason}` : `restart of ${failedRestarts[0]!.service} failed`;
      return failed(`feed update incomplete (${failedServices.length} of ${summary.services.length} services failed): ${why}`, line);
    }
    return ok(line);
  }

  private async provision(entry: JournalEntry): Promise<FinalResult> {
    const install = await this.options.discover();
    if (!install) return failed(NO_INSTALL);
    try {
      const report = await provisionMonitor({
        install,
        dockerSocket: this.options.dockerSocket,
        stateDir: this.options.stateDir,
        ...(this.options.run ? { run: this.options.run } : {}),
        ...(this.options.now ? { now: this.options.now } : {}),
      });
      this.options.log.info('gvmd monitor account provisioned', {
        commandId: entry.commandId,
        account: report.account,
        defaultAdminPassword: report.defaultAdminPassword,
      });
      // Poll with the new account at once (the next heartbeat shows it).
      void Promise.resolve()
        .then(() => this.options.integrator?.()?.refreshNow())
        .catch(() => undefined);
      // An account that cannot see the tasks is no monitor: the operator must hear of it (the account is stored all the same).
      if (!report.readsEveryTask) return failed(`the monitor account was set, but ${report.grant}`, JSON.stringify(report));
      return ok(JSON.stringify(report));
    } catch (err) {
      // Messages from provisioning are scrubbed of the password already; errors from below may not be.
      const message = err instanceof ProvisionError ? err.message : scrub(errorMessage(err), [], 400);
      return failed(`provisioning the monitor account: ${message}`);
    }
  }

  private async reportSummary(raw: unknown): Promise<FinalResult> {
    const params = ScannerReportSummaryParamsSchema.safeParse(raw);
    if (!params.success) return failed('params do not match scanner.report-summary (reportId must be a UUID, maxFindings 1–50)');
    const install = await this.options.discover();
    if (!install) return failed(NO_INSTALL);
    const account = await readMonitorAccount(this.options.stateDir);
    if (!account) return failed('no monitor account on this device: run scanner.provision-monitor first');
    let summary: ScannerReportSummary;
    try {
      summary = await fetchReportSummary({
        socketPath: install.socketPath,
        username: account.username,
        password: account.password,
        reportId: params.data.reportId,
        maxFindings: params.data.maxFindings,
      });
    } catch (err) {
      return failed(scrub(reportSummaryFailure(err, params.data.reportId), [account.password], 500));
    }
    // One final line: the API reads the last stdout line as ScannerReportSummarySchema.
    return ok(JSON.stringify(summary));
  }
}
