// A real WireGuard tunnel for agent/bench/imaging.mjs (issue 16 names "tunnel throughput" as one
// of the imaging pipeline's bounds): the device end is a wireguard-go interface in this network
// namespace, the server end one in a new namespace, joined by a veth pair as their underlay.
// Each wireguard-go is pinned to its side's CPUs, as the two ends are two hosts in production.
// Needs root, /dev/net/tun, wireguard-go and wg (LAB.md); leaves nothing behind (stop()).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWireGuardInterface, generateKeyPair } from '@xspectre/wireguard';
import { WIREGUARD_GO_NICE } from '../dist/recovery/tunnel.js';

const run = (file, args) => execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 }).toString();

/** The CPUs of a taskset-style list ("0-2,5" → [0, 1, 2, 5]). */
const cpuList = (cpus) =>
  cpus.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });

/** The hex CPU mask of a taskset-style list. */
const cpuMask = (cpus) =>
  cpuList(cpus)
    .reduce((mask, cpu) => mask | (1n << BigInt(cpu)), 0n)
    .toString(16);

function steerReceive(netns, device, cpus) {
  const file = `/sys/class/net/${device}/queues/rx-0/rps_cpus`;
  const input = `${cpuMask(cpus)}\n`;
  // `ip netns exec` mounts the namespace's own /sys, where its devices are.
  const [command, args] = netns ? ['ip', ['netns', 'exec', netns, 'tee', file]] : ['tee', [file]];
  execFileSync(command, args, { input, stdio: ['pipe', 'ignore', 'pipe'], timeout: 15_000 });
}

/**
 * wireguard-go started on `cpus` only, with GOMAXPROCS to match (pinned after start, Go would keep
 * one scheduler thread per CPU of the machine, spinning for work on the side's one CPU), and at
 * nice -10, as the stick starts it (agent/src/recovery/tunnel.ts WIREGUARD_GO_NICE): it stands in
 * for the kernel module, whose workers run ahead of user processes such as zstd.
 */
function pinnedWireGuardGo(dir, side, cpus) {
  const path = join(dir, `wireguard-go-${side}`);
  writeFileSync(
    path,
    `#!/bin/sh\nGOMAXPROCS=${cpuList(cpus).length} exec nice -n ${WIREGUARD_GO_NICE} taskset -c ${cpus} wireguard-go "$@"\n`,
    {
      mode: 0o700,
    },
  );
  return path;
}

export async function startTunnelPair({ deviceCpus, serverCpus }) {
  const tag = randomBytes(3).toString('hex');
  const octet = 16 + (randomBytes(1)[0] % 200);
  const netns = `xs-bimg-${tag}`;
  const underlay = { device: `10.212.${octet}.1`, server: `10.212.${octet}.2` };
  const overlay = { device: `10.213.${octet}.1`, server: `10.213.${octet}.2` };
  const names = { veth: `xsbv${tag}`, vethPeer: `xsbp${tag}`, wgDevice: `xsbd${tag}`, wgServer: `xsbs${tag}` };
  const cleanups = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };
  try {
    const scripts = mkdtempSync(join(tmpdir(), 'xs-bimg-wg-'));
    cleanups.push(() => rmSync(scripts, { recursive: true, force: true }));
    run('ip', ['netns', 'add', netns]);
    cleanups.push(() => run('ip', ['netns', 'delete', netns])); // takes the veth pair with it
    run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    run('ip', ['link', 'add', names.veth, 'type', 'veth', 'peer', 'name', names.vethPeer, 'netns', netns]);
    run('ip', ['address', 'add', `${underlay.device}/30`, 'dev', names.veth]);
    run('ip', ['link', 'set', names.veth, 'up']);
    run('ip', ['-n', netns, 'address', 'add', `${underlay.server}/30`, 'dev', names.vethPeer]);
    run('ip', ['-n', netns, 'link', 'set', names.vethPeer, 'up']);
    // A packet sent into a veth is received in softirq on the sending CPU: steer each side's
    // receiving to its own CPUs (RPS), or the device's CPU would do the server's network work.
    steerReceive(undefined, names.veth, deviceCpus);
    steerReceive(netns, names.vethPeer, serverCpus);

    const deviceKeys = generateKeyPair();
    const serverKeys = generateKeyPair();
    const port = 51_000 + (randomBytes(2).readUInt16BE() % 800);
    const device = await createWireGuardInterface({
      name: names.wgDevice,
      privateKey: deviceKeys.privateKey,
      address: overlay.device,
      prefixLength: 30,
      listenPort: port,
      wireguardGoBinary: pinnedWireGuardGo(scripts, 'device', deviceCpus),
    });
    cleanups.push(() => device.destroy());
    const server = await createWireGuardInterface({
      name: names.wgServer,
      netns,
      privateKey: serverKeys.privateKey,
      address: overlay.server,
      prefixLength: 30,
      listenPort: port,
      wireguardGoBinary: pinnedWireGuardGo(scripts, 'server', serverCpus),
    });
    cleanups.push(() => server.destroy());
    run('wg', [
      'set',
      names.wgDevice,
      'peer',
      serverKeys.publicKey,
      'endpoint',
      `${underlay.server}:${port}`,
      'allowed-ips',
      `${overlay.server}/32`,
    ]);
    run('ip', [
      'netns',
      'exec',
      netns,
      'wg',
      'set',
      names.wgServer,
      'peer',
      deviceKeys.publicKey,
      'endpoint',
      `${underlay.device}:${port}`,
      'allowed-ips',
      `${overlay.device}/32`,
    ]);
    run('ping', ['-c', '1', '-W', '5', overlay.server]);
    return { netns, serverAddress: overlay.server, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Why the tunnel cannot be built here, or undefined when it can. */
export function tunnelUnavailable() {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun is missing (wireguard-go needs TUN)';
  }
  for (const [file, args] of [
    ['wireguard-go', ['--version']],
    ['wg', ['--version']],
    ['ip', ['netns', 'list']],
  ]) {
    try {
      run(file, args);
    } catch {
      return `\`${file}\` does not work`;
    }
  }
  return undefined;
}
