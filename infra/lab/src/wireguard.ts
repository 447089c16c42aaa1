// Lab WireGuard interfaces: wireguard-go (`-f`, detached, log file) so an interface outlives a
// CLI `up`; known by PID. (@xspectre/wireguard's createWireGuardInterface keeps wireguard-go
// as a piped child of the calling process, which suits a test but not a lab left running.)
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { must, sleep } from './exec.js';
import { isRunning, spawnDaemon, stopProcess, type ProcRef } from './processes.js';
import { deleteLink, listLinks, listNetns } from './net.js';

export const WIREGUARD_SOCKET_DIR = '/var/run/wireguard';

const exists = (path: string) =>
  access(path, constants.F_OK).then(
    () => true,
    () => false,
  );

export interface LabWireGuard {
  name: string;
  netns: string | undefined;
  pid: ProcRef;
}

/** How to configure the new interface: a key and port (the hub), or a wg-quick file (a device). */
export type WireGuardSetup =
  | { kind: 'key'; privateKey: string; listenPort: number }
  /** `endpoint` (host:port) replaces the file's peer Endpoint: where the lab's hub is on its underlay. */
  | { kind: 'wg-quick'; configFile: string; endpoint?: string };

export interface StartWireGuardOptions {
  name: string;
  netns?: string;
  /** Interface address with prefix, e.g. 10.10.0.1/24. */
  cidr: string;
  setup: WireGuardSetup;
  logFile: string;
  /** A private (0700) directory for the short-lived files that hold the private key. */
  workDir: string;
  /** Marks the process (XSPECTRE_LAB in its environment) for the sweeper. */
  labId: string;
}

const ipIn = (netns: string | undefined, args: string[]) => must('ip', netns ? ['-n', netns, ...args] : args);
const inNs = (netns: string | undefined, file: string, args: string[]) =>
  netns ? must('ip', ['netns', 'exec', netns, file, ...args]) : must(file, args);

/** Starts wireguard-go for `name` (in `netns`), configures it, sets the address and brings it up. */
export async function startWireGuard(options: StartWireGuardOptions): Promise<LabWireGuard> {
  const { name, netns } = options;
  const socket = join(WIREGUARD_SOCKET_DIR, `${name}.sock`);
  if (await exists(socket)) throw new Error(`${socket} exists: WireGuard interface name ${name} is taken (or left over)`);
  const command = ['wireguard-go', '-f', name];
  const [file, ...args] = netns ? ['ip', 'netns', 'exec', netns, ...command] : command;
  const pid = await spawnDaemon(file!, args, {
    logFile: options.logFile,
    env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error', XSPECTRE_LAB: options.labId },
  });
  const wg: LabWireGuard = { name, netns, pid };
  try {
    const deadline = Date.now() + 10_000;
    while (!(await exists(socket))) {
      if (!(await isRunning(pid))) throw new Error(`wireguard-go ${name} exited during start-up (see ${options.logFile})`);
      if (Date.now() > deadline) throw new Error(`wireguard-go ${name} did not create ${socket} within 10 s`);
      await sleep(50);
    }
    const dir = await mkdtemp(join(options.workDir, 'wg-'));
    try {
      if (options.setup.kind === 'key') {
        const keyFile = join(dir, 'private.key');
        await writeFile(keyFile, `${options.setup.privateKey}\n`, { mode: 0o600 });
        await inNs(netns, 'wg', ['set', name, 'private-key', keyFile, 'listen-port', String(options.setup.listenPort)]);
      } else {
        // What wg-quick does, minus wg-quick: strip the wg-quick-only keys, then `wg setconf`.
        const stripped = join(dir, 'setconf.conf');
        let config = await must('wg-quick', ['strip', options.setup.configFile]);
        const endpoint = options.setup.endpoint;
        if (endpoint !== undefined) config = config.replace(/^Endpoint\s*=.*$/gm, () => `Endpoint = ${endpoint}`);
        await writeFile(stripped, config, { mode: 0o600 });
        await inNs(netns, 'wg', ['setconf', name, stripped]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await ipIn(netns, ['address', 'add', options.cidr, 'dev', name]);
    await ipIn(netns, ['link', 'set', name, 'up']);
    return wg;
  } catch (error) {
    await stopWireGuard(wg).catch(() => undefined);
    throw error;
  }
}

/** Stops wireguard-go by PID, then removes a left-over link and socket. Idempotent. */
export async function stopWireGuard(wg: LabWireGuard): Promise<void> {
  await stopProcess(wg.pid);
  if (wg.netns) {
    if ((await listNetns()).includes(wg.netns)) await must('ip', ['-n', wg.netns, 'link', 'delete', wg.name]).catch(() => undefined);
  } else if ((await listLinks()).includes(wg.name)) {
    await deleteLink(wg.name);
  }
  await rm(join(WIREGUARD_SOCKET_DIR, `${wg.name}.sock`), { force: true });
}
