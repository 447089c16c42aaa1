// Namespaces, the underlay bridge and veth pairs (iproute2, argument arrays).
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { must, run } from './exec.js';
import { UNDERLAY_HUB_ADDRESS, UNDERLAY_PREFIX } from './names.js';

export async function listNetns(): Promise<string[]> {
  const out = await must('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}

/** Interface names in the root namespace. */
export async function listLinks(): Promise<string[]> {
  const out = await must('ip', ['-o', 'link', 'show']);
  return out
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '')
    .filter(Boolean);
}

export async function addNetns(name: string): Promise<void> {
  await must('ip', ['netns', 'add', name]);
  await must('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Gives a running process's network namespace (a container's) a name, so `ip -n NAME` reaches it. */
export async function attachNetns(name: string, pid: number): Promise<void> {
  await must('ip', ['netns', 'attach', name, String(pid)]);
}

export async function deleteNetns(name: string): Promise<void> {
  const result = await run('ip', ['netns', 'delete', name]);
  if (result.exitCode !== 0 && (await listNetns()).includes(name)) throw new Error(`ip netns delete ${name}: ${result.stderr.trim()}`);
}

export async function deleteLink(name: string): Promise<void> {
  const result = await run('ip', ['link', 'delete', name]);
  if (result.exitCode !== 0 && (await listLinks()).includes(name)) throw new Error(`ip link delete ${name}: ${result.stderr.trim()}`);
}

/** The MAC address of `eth0` in a named namespace, if it has one. */
export async function eth0Mac(netns: string): Promise<string | undefined> {
  const result = await run('ip', ['-n', netns, '-o', 'link', 'show', 'eth0']);
  return /link\/ether ([0-9a-f:]{17})/.exec(result.stdout)?.[1];
}

/** PIDs of every process in a named namespace. */
export async function netnsPids(name: string): Promise<number[]> {
  const result = await run('ip', ['netns', 'pids', name]);
  return result.stdout
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** The underlay bridge in the root namespace, 198.18.0.1/16: the hub's endpoint and the API's underlay address. */
export async function createBridge(name: string): Promise<void> {
  await must('ip', ['link', 'add', name, 'type', 'bridge']);
  await must('ip', ['address', 'add', `${UNDERLAY_HUB_ADDRESS}/${UNDERLAY_PREFIX}`, 'dev', name]);
  await must('ip', ['link', 'set', name, 'up']);
}

/**
 * A veth pair: `rootEnd` stays in the root namespace as an isolated port of the bridge (devices
 * cannot reach each other over the underlay, like separate customer sites); the other end is
 * created directly in `netns` as `eth0` with `address`/16 and a default route via the hub side.
 */
export async function attachDevice(bridge: string, rootEnd: string, netns: string, address: string, mac?: string): Promise<void> {
  await must('ip', ['link', 'add', rootEnd, 'type', 'veth', 'peer', 'name', 'eth0', ...(mac ? ['address', mac] : []), 'netns', netns]);
  await must('ip', ['link', 'set', rootEnd, 'master', bridge]);
  await must('bridge', ['link', 'set', 'dev', rootEnd, 'isolated', 'on']);
  await must('ip', ['link', 'set', rootEnd, 'up']);
  await must('ip', ['-n', netns, 'address', 'add', `${address}/${UNDERLAY_PREFIX}`, 'dev', 'eth0']);
  await must('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
  await must('ip', ['-n', netns, 'route', 'add', 'default', 'via', UNDERLAY_HUB_ADDRESS]);
}

export async function readSysctl(path: string): Promise<string> {
  return (await readFile(`/proc/sys/${path}`, 'utf8')).trim();
}

export async function writeSysctl(path: string, value: string): Promise<void> {
  await writeFile(`/proc/sys/${path}`, `${value}\n`);
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '0.0.0.0', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '0.0.0.0', () => {
      const port = socket.address().port;
      socket.close(() => resolve(port));
    });
  });
}
