import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ServiceStateSchema, type ServiceState } from '@xspectre/contracts';
import type { Logger } from '../log.js';
import { parseListUnits, parseShow, selectUnits, serviceStates } from './services-parsers.js';

const run = promisify(execFile);
export const SYSTEMCTL_TIMEOUT_MS = 5000;
const MAX_UNITS = 2000;

export interface ServicesSources {
  /** Runs systemctl with these arguments and returns stdout; rejects when it fails or is missing. */
  systemctl: (args: string[]) => Promise<string>;
  /** True when systemd is PID 1 (sd_booted: /run/systemd/system exists). */
  systemdRunning: () => Promise<boolean>;
}

export const HOST_SERVICES_SOURCES: ServicesSources = {
  systemctl: async (args) =>
    (await run('systemctl', args, { timeout: SYSTEMCTL_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } }))
      .stdout,
  systemdRunning: () =>
    access('/run/systemd/system').then(
      () => true,
      () => false,
    ),
};

/**
 * Watched when the config names none: what keeps the device reachable and managed, plus the
 * Greenbone and Docker services its modules imply.
 */
export function defaultWatchUnits(modules: { docker: boolean; scanner: boolean }): string[] {
  return [
    'xspectre-agent.service',
    'wg-quick@wg0.service',
    'ssh.service',
    ...(modules.docker ? ['docker.service'] : []),
    ...(modules.scanner ? ['gvmd.service', 'ospd-openvas.service', 'gsad.service'] : []),
  ];
}

/** Systemd units: the configured watch list plus every failed unit. Without systemd: [] (logged once). */
export class ServicesCollector {
  private saidAbsent = false;

  constructor(
    private readonly watch: readonly string[],
    private readonly log: Logger,
    private readonly sources: ServicesSources = HOST_SERVICES_SOURCES,
    /** Watch only those units systemd has loaded (the default list: no noise for what is not installed). */
    private readonly options: { onlyLoaded?: boolean } = {},
  ) {}

  async collect(): Promise<ServiceState[]> {
    if (!(await this.sources.systemdRunning())) return this.absent('systemd is not running (PID 1 is not systemd)');
    let listing: string;
    try {
      listing = await this.sources.systemctl(['list-units', '--all', '--output=json', '--no-pager']);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.absent('systemctl is not installed');
      throw err;
    }
    const listed = parseListUnits(listing);
    const loaded = new Set(listed.map((u) => u.unit));
    const watch = this.options.onlyLoaded ? this.watch.filter((unit) => loaded.has(unit)) : this.watch;
    const selected = selectUnits(listed, watch).slice(0, MAX_UNITS);
    if (selected.length === 0) return [];
    const show = await this.sources.systemctl([
      'show',
      '--no-pager',
      '--timestamp=unix',
      '-p',
      'Id,ActiveState,SubState,ActiveEnterTimestamp,StateChangeTimestamp',
      '--',
      ...selected.map((s) => s.unit),
    ]);
    return serviceStates(selected, parseShow(show)).filter((s) => ServiceStateSchema.safeParse(s).success);
  }

  private absent(why: string): ServiceState[] {
    if (!this.saidAbsent) this.log.info('service states not collected', { reason: why });
    this.saidAbsent = true;
    return [];
  }
}
