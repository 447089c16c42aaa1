import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { AgentState } from '../state.js';
import { httpCommandApi } from './command-api.js';
import { CommandJournal, JOURNAL_DIR } from './command-journal.js';
import { CommandLoop } from './command-loop.js';
import { CommandExecutor, hostExecutorHost } from './executor.js';
import { DEFAULT_POLICY_PATH, LocalPolicyFile } from './policy.js';
import { ReplayGuard } from './replay-guard.js';
import { hostScriptHost } from './script-run.js';
import { hostUpdateHost, UPDATE_DIR } from './agent-update.js';
import { AGENT_BUILD_ID } from '../version.js';
import { ServerClock } from './server-clock.js';
import { httpCredentialApi, ManagedActions } from './managed-actions.js';
import type { ManagedSettings } from '../managed.js';
import { pinnedCommandKeys } from './verify.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS } from '@xspectre/contracts/command-signature';
import { BackupActions } from '../backups/backup-action.js';
import { httpBackupApi } from '../backups/backup-api.js';
import { keepTransferKeyReported } from '../backups/transfer-key.js';
import { ScannerActions } from './scanner-actions.js';
import { discoverGreenbone } from '../scanner/discovery.js';
import { currentScannerIntegrator } from '../scanner/integrator.js';

const abortableSleep = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

export interface CommandLoopSetup {
  stateDir: string;
  config: AgentConfig;
  env: NodeJS.ProcessEnv;
  log: Logger;
  shutdown: AbortSignal;
  now: () => Date;
  /** state.json's last acknowledgement: the API's clock is known before the first answer. */
  lastAck: AgentState['lastAck'];
  dockerSocket: string;
  /**
   * managed.json: settings.apply, credential.rotate and keys.pin change it. `config` is then its
   * live view (managed.ts), so the pinned keys and the credential the loop uses follow its changes.
   */
  managed?: ManagedSettings;
}

/**
 * The command loop as `run` starts it: its files under `<state dir>/commands/` (nonces.json,
 * journal/, output/, scripts/, update/), the policy at `XSPECTRE_POLICY_FILE` or /etc/xspectre/policy.json.
 */
export async function openCommandLoop(setup: CommandLoopSetup): Promise<CommandLoop> {
  const { log, now } = setup;
  const dir = resolve(setup.stateDir, 'commands');
  const clock = new ServerClock(now, setup.lastAck);
  const opened = await ReplayGuard.open(dir, clock.now(), { maxClockSkewMs: DEFAULT_MAX_CLOCK_SKEW_MS });
  if (opened.warning) log.warn(opened.warning);
  const journal = await CommandJournal.open(join(dir, JOURNAL_DIR), now());
  for (const warning of journal.warnings) log.warn(warning);
  const host = hostExecutorHost(setup.dockerSocket);
  // File backups: restic (XSPECTRE_RESTIC or on PATH), its password, cache and transfer key in <state dir>/backups.
  const backupsDir = resolve(setup.stateDir, 'backups');
  const backupApi = httpBackupApi(setup.config);
  void keepTransferKeyReported({ dir: backupsDir, api: backupApi, log, shutdown: setup.shutdown, sleep: abortableSleep });
  return new CommandLoop({
    deviceId: setup.config.deviceId,
    pinnedKeys: pinnedCommandKeys(setup.config),
    api: httpCommandApi(setup.config),
    journal: journal.journal,
    guard: opened.guard,
    executor: new CommandExecutor(host, {
      outputDir: join(dir, 'output'),
      dockerSocket: setup.dockerSocket,
      scripts: { host: hostScriptHost(setup.config, abortableSleep), dir: join(dir, 'scripts') },
      update: { host: hostUpdateHost(setup.config, AGENT_BUILD_ID, abortableSleep), dir: join(dir, UPDATE_DIR) },
      // reboot-to-recovery runs this same agent as `recovery-boot` (the executable, or node and its script).
      self:
        AGENT_BUILD_ID !== null || !process.argv[1]
          ? [process.execPath]
          : [process.execPath, ...process.execArgv, resolve(process.argv[1])],
      ...(setup.managed
        ? { managed: new ManagedActions({ settings: setup.managed, api: httpCredentialApi(setup.config), log, sleep: abortableSleep }) }
        : {}),
      backups: new BackupActions({
        deviceId: setup.config.deviceId,
        dir: backupsDir,
        ...(setup.env.XSPECTRE_RESTIC?.trim() ? { restic: setup.env.XSPECTRE_RESTIC.trim() } : {}),
        api: backupApi,
        log,
        systemdRunning: host.systemdRunning,
      }),
      // Scanners only: the install is discovered at each command (it may have been recreated since).
      ...(setup.config.modules.scanner
        ? {
            scanner: new ScannerActions({
              dockerSocket: setup.dockerSocket,
              stateDir: setup.stateDir,
              discover: () => discoverGreenbone({ dockerSocket: setup.dockerSocket, configuredSocket: setup.config.gmpSocketPath }),
              integrator: currentScannerIntegrator,
              dockerPost: host.dockerPost,
              log,
            }),
          }
        : {}),
    }),
    policy: new LocalPolicyFile(setup.env.XSPECTRE_POLICY_FILE?.trim() || DEFAULT_POLICY_PATH, log),
    clock,
    log,
    shutdown: setup.shutdown,
    now,
    maxClockSkewMs: DEFAULT_MAX_CLOCK_SKEW_MS,
  });
}
