// A userspace WireGuard interface (wireguard-go) for tests and the fleet lab.
// wireguard-go runs in the foreground (`-f`) as our child process: we keep its handle and
// PID (`ip netns exec` execs, so the child is wireguard-go itself); destroy() sends SIGTERM
// (SIGKILL after 5 s), then removes the link and the control socket if they are left over.
import { execa } from 'execa';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyFromPrivate } from './keys.js';
import { checkInterfaceName, checkNetnsName } from './names.js';
import { checkAddress, checkInt } from './validate.js';
import { runIn, type CommandTarget } from './wg-command.js';

export interface WireGuardInterfaceOptions {
  /** ≤ 15 characters and unique on the machine: the control socket directory is shared by all netns. */
  name: string;
  netns?: string;
  privateKey: string;
  address: string;
  prefixLength: number;
  listenPort?: number;
  wireguardGoBinary?: string;
  wgBinary?: string;
  ipBinary?: string;
}

export interface WireGuardInterface {
  name: string;
  netns: string | undefined;
  publicKey: string;
  /** PID of the wireguard-go process. */
  pid: number;
  /** Idempotent. */
  destroy(): Promise<void>;
}

export const WIREGUARD_SOCKET_DIR = '/var/run/wireguard';
const START_TIMEOUT_MS = 10_000;

const exists = (path: string) =>
  access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** True when `done` settles within `ms`; the timer does not outlive the race. */
async function settlesWithin(done: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([done.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function createWireGuardInterface(options: WireGuardInterfaceOptions): Promise<WireGuardInterface> {
  const { name, netns, privateKey, address, prefixLength, listenPort } = options;
  checkInterfaceName(name);
  checkNetnsName(netns);
  checkAddress(address, prefixLength);
  if (listenPort !== undefined) checkInt(listenPort, 1, 65535, 'listenPort');
  const publicKey = publicKeyFromPrivate(privateKey);
  const target: CommandTarget = { netns, ipBinary: options.ipBinary ?? 'ip', timeoutMs: 10_000 };
  const wg = options.wgBinary ?? 'wg';
  const ip = (args: string[]) => runIn({ ...target, netns: undefined }, target.ipBinary, netns ? ['-n', netns, ...args] : args);
  const socket = join(WIREGUARD_SOCKET_DIR, `${name}.sock`);

  if (!(await exists('/dev/net/tun'))) throw new Error('/dev/net/tun is missing: wireguard-go needs the TUN device');
  if (await exists(socket)) throw new Error(`${socket} exists: interface name '${name}' is in use (or a stale socket was left behind)`);

  const goArgs = [options.wireguardGoBinary ?? 'wireguard-go', '-f', name];
  const [file, ...args] = netns ? [target.ipBinary, 'netns', 'exec', netns, ...goArgs] : goArgs;
  const child = execa(file as string, args, {
    env: { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' },
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: false,
    reject: false,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  let running = true;
  let exitReason = '';
  const exited = child.then((result) => {
    running = false;
    exitReason = result.failed ? (result.shortMessage ?? '') : '';
  });
  // Set once our wireguard-go has created the link and the socket: only then are they ours to remove.
  let started = false;

  const destroy = async () => {
    if (running) {
      child.kill('SIGTERM');
      if (!(await settlesWithin(exited, 5000))) child.kill('SIGKILL');
      await exited;
    }
    if (!started) return;
    if (!netns || (await exists(`/run/netns/${netns}`))) await ip(['link', 'del', name]).catch(() => undefined);
    await rm(socket, { force: true });
  };

  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await exists(socket))) {
      if (!running) throw new Error(`wireguard-go ${name} exited during start-up: ${stderr.trim() || exitReason || 'no output'}`);
      if (Date.now() > deadline) throw new Error(`wireguard-go ${name} did not create ${socket} within ${START_TIMEOUT_MS} ms`);
      await sleep(50);
    }
    started = running;
    if (!started) throw new Error(`wireguard-go ${name} exited during start-up: ${stderr.trim() || exitReason || 'no output'}`);
    const keyDir = await mkdtemp(join(tmpdir(), 'xsw-key-'));
    try {
      const keyFile = join(keyDir, 'private.key');
      await writeFile(keyFile, `${privateKey}\n`, { mode: 0o600 });
      const port = listenPort === undefined ? [] : ['listen-port', String(listenPort)];
      await runIn(target, wg, ['set', name, 'private-key', keyFile, ...port]);
    } finally {
      await rm(keyDir, { recursive: true, force: true });
    }
    await ip(['address', 'add', `${address}/${prefixLength}`, 'dev', name]);
    await ip(['link', 'set', name, 'up']);
  } catch (error) {
    await destroy();
    throw error;
  }
  return { name, netns, publicKey, pid: child.pid as number, destroy };
}
