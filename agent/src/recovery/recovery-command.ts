import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DEFAULT_MAX_CLOCK_SKEW_MS } from '@xspectre/contracts/command-signature';
import { ReplayGuard } from '../commands/replay-guard.js';
import type { CliContext } from '../cli-context.js';
import { errorMessage, ExitCode, UsageError } from '../errors.js';
import { AGENT_VERSION } from '../version.js';
import { runRecoveryAction } from './actions.js';
import { parseCommandKeys, parseRecoveryConf } from './conf.js';
import { consoleLine } from './console-line.js';
import { readHardware, SYSTEM_ROOTS } from './hardware.js';
import { httpRecoveryApi } from './recovery-api.js';
import { RecoveryLoop } from './recovery-loop.js';
import { checkRecoverySshSetup } from './ssh-config.js';
import { RecoveryShell } from './ssh-server.js';
import { tunnelUp } from './tunnel.js';

export const RECOVERY_USAGE = `  xspectre-agent recovery run [--config FILE] [--stick NAME] [--run-dir DIR] [--no-tunnel]
      The recovery agent on the recovery stick (/usr/local/bin/xspectre-recovery): reads
      recovery.conf (env XS_RECOVERY_CONFIG, default /run/xspectre-recovery/recovery.conf),
      brings up the WireGuard tunnel, registers as RECOVERY MODE and runs signed recovery.*
      commands (image, restore, smart, fsck, reboot). --stick (env XS_RECOVERY_STICK) names the
      stick's disk, never imaged or written. One XSPECTRE-RECOVERY line per step.
`;

const DEFAULT_RUN_DIR = '/run/xspectre-recovery';

export function parseRecoveryArgs(args: readonly string[], env: NodeJS.ProcessEnv) {
  const [sub, ...rest] = args;
  if (sub !== 'run') throw new UsageError(sub === undefined ? 'recovery needs a subcommand (run)' : 'unknown recovery subcommand');
  const out = {
    config: env.XS_RECOVERY_CONFIG || join(DEFAULT_RUN_DIR, 'recovery.conf'),
    stick: env.XS_RECOVERY_STICK || null,
    runDir: DEFAULT_RUN_DIR,
    tunnel: true,
  };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--config') out.config = value();
    else if (flag === '--stick') out.stick = value();
    else if (flag === '--run-dir') out.runDir = value();
    else if (flag === '--no-tunnel') out.tunnel = false;
    else throw new UsageError(`unknown option for recovery run`);
  }
  if (out.stick !== null && !/^[a-z][a-z0-9]{0,31}$/.test(out.stick)) throw new UsageError('--stick must be a kernel disk name');
  return out;
}

export async function recoveryCommand(args: readonly string[], ctx: CliContext): Promise<number> {
  const options = parseRecoveryArgs(args, ctx.env);
  // The console only on the stick (its /init sets XS_RECOVERY_CONFIG), never a workstation's.
  const say = consoleLine({
    stdout: ctx.stdout,
    console: ctx.env.XS_RECOVERY_CONFIG && existsSync('/dev/console') ? '/dev/console' : null,
  });
  const shutdown = ctx.shutdownSignal();
  say('start', { version: AGENT_VERSION, pid: process.pid });

  let conf;
  let pinnedKeys;
  try {
    conf = parseRecoveryConf(await readFile(options.config, 'utf8'));
    pinnedKeys = parseCommandKeys(conf.XS_COMMAND_KEYS);
  } catch (err) {
    // Messages name keys, never values (conf.ts).
    say('config fail', { reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${options.config} not found` : errorMessage(err) });
    return ExitCode.LOCAL_ERROR;
  }
  say('config ok', { device: conf.XS_DEVICE_ID, medium: conf.XS_MEDIUM_ID, api: conf.XS_API_URL, keys: pinnedKeys.length });

  const hardware = await readHardware(SYSTEM_ROOTS, options.stick);
  say('hardware ok', {
    disks: hardware.disks.map((d) => `${d.name}:${d.role}`).join(','),
    nics: hardware.nics.length,
    firmware: hardware.firmware,
  });

  for (let attempt = 0; options.tunnel && !shutdown.aborted; attempt++) {
    try {
      const how = await tunnelUp(conf, { runDir: options.runDir });
      say('tunnel ok', { via: how, address: conf.XS_WG_ADDRESS, endpoint: conf.XS_WG_HUB_ENDPOINT });
      break;
    } catch (err) {
      const wait = Math.min(60_000, 1000 * 2 ** Math.min(attempt, 6));
      say('tunnel fail', { reason: errorMessage(err), retry_s: wait / 1000 });
      await delay(wait, undefined, { signal: shutdown }).catch(() => undefined);
    }
  }
  if (shutdown.aborted) return ExitCode.OK;

  const { guard, warning } = await ReplayGuard.open(join(options.runDir, 'commands'), new Date(), {
    maxClockSkewMs: DEFAULT_MAX_CLOCK_SKEW_MS,
  });
  if (warning) say('replay-guard warning', { detail: warning });
  const recipeHash = await readFile('/etc/xspectre-recovery/manifest.json', 'utf8')
    .then((text) => {
      const hash = (JSON.parse(text) as { recipeHash?: unknown }).recipeHash;
      return typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash) ? hash : null;
    })
    .catch(() => null);
  // The recovery shell: a host key for this boot before registering (the API pins what we send).
  const shell = new RecoveryShell({ runDir: options.runDir, say });
  const prepared = await shell.prepareHostKey().catch((err: unknown) => ({ hostKey: null, reason: errorMessage(err) }));
  if (prepared.hostKey === null) say('shell unavailable', { reason: prepared.reason });
  const api = httpRecoveryApi(conf.XS_API_URL, conf.XS_CREDENTIAL);
  const deviceId = conf.XS_DEVICE_ID;
  const loop = new RecoveryLoop({
    deviceId,
    pinnedKeys,
    api,
    guard,
    hardware,
    agentVersion: AGENT_VERSION,
    recipeHash,
    kernel: release(),
    sshHostKey: prepared.hostKey,
    say,
    shutdown,
    runAction: (action, params, commandId, hooks) =>
      runRecoveryAction(action, params, commandId, {
        deviceId,
        stick: options.stick,
        hardware,
        diskPath: (name) => `/dev/${name}`,
        tokens: (id) => (op) => api.imageToken(id, op, shutdown),
        progress: (_id, sample) => hooks.progress(sample),
        reportImage: async (id, metadata) => {
          for (let attempt = 0; ; attempt++) {
            try {
              return await api.reportImage(id, metadata, shutdown);
            } catch (err) {
              if (attempt >= 5 || shutdown.aborted)
                throw new Error(`the image is stored but the API did not record it: ${errorMessage(err)}`, { cause: err });
              await delay(1000 * 2 ** attempt, undefined, { signal: shutdown }).catch(() => undefined);
            }
          }
        },
        agentVersion: AGENT_VERSION,
        kernel: release(),
        signal: shutdown,
      }),
  });
  const registered = await loop.register();
  if (registered && prepared.hostKey !== null) {
    try {
      if (!registered.ssh) throw new Error('the API sent no ssh setup (an API without recovery shells)');
      await shell.start(checkRecoverySshSetup(registered.ssh, conf.XS_MEDIUM_ID), conf.XS_WG_ADDRESS);
    } catch (err) {
      say('shell unavailable', { reason: errorMessage(err) });
    }
  }
  try {
    await loop.run();
  } finally {
    await shell.stop();
  }
  say('stop');
  return ExitCode.OK;
}
