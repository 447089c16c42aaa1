// Network-namespace helpers for the integration tests: argument arrays only, bounded waits.
import { execa } from 'execa';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderDeviceConfig, type DeviceConfigInput } from '../src/index.js';

const TIMEOUT = { timeout: 15_000 };

export async function run(file: string, args: string[], input?: string) {
  return execa(file, args, { ...TIMEOUT, reject: false, ...(input === undefined ? { stdin: 'ignore' as const } : { input }) });
}

/** Runs and throws with the command's stderr when it fails. */
export async function must(file: string, args: string[], input?: string): Promise<string> {
  const result = await run(file, args, input);
  if (result.exitCode !== 0) throw new Error(`${[file, ...args].join(' ')} failed (${result.exitCode}): ${result.stderr}`);
  return result.stdout;
}

export const inNs = (ns: string, file: string, args: string[], input?: string) => must('ip', ['netns', 'exec', ns, file, ...args], input);

/** Fails (never skips) when the machine cannot run the lab, naming what is missing. */
export async function requireLabSupport(): Promise<void> {
  const problems: string[] = [];
  if (
    !(await access('/dev/net/tun', constants.R_OK | constants.W_OK).then(
      () => true,
      () => false,
    ))
  )
    problems.push('/dev/net/tun is missing or not accessible (wireguard-go needs TUN)');
  for (const [file, args] of [
    ['ip', ['netns', 'list']],
    ['wg', ['--version']],
    ['wireguard-go', ['--version']],
    ['wg-quick', ['--help']],
    ['ping', ['-V']],
  ] as const) {
    const result = await run(file, [...args]).catch((error: Error) => ({ exitCode: -1, stderr: error.message }));
    // `wg-quick --help` prints its usage and exits 0; anything that could not run has no exit code.
    if (result.exitCode !== 0) problems.push(`\`${file} ${args.join(' ')}\` does not work: ${String(result.stderr).trim() || 'not found'}`);
  }
  if (process.getuid?.() !== 0) problems.push('network namespaces need root');
  if (problems.length > 0)
    throw new Error(`WireGuard lab unavailable: ${problems.join('; ')}. Install with: bash infra/scripts/lib.sh lab_apt_packages`);
}

export async function listNetns(): Promise<string[]> {
  const out = await must('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}

export async function addNetns(name: string): Promise<void> {
  await must('ip', ['netns', 'add', name]);
  await must('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** A veth pair created directly inside the two namespaces (no name ever exists in the root netns). */
export async function veth(nsA: string, ifA: string, cidrA: string, nsB: string, ifB: string, cidrB: string): Promise<void> {
  await must('ip', ['-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  for (const [ns, ifName, cidr] of [
    [nsA, ifA, cidrA],
    [nsB, ifB, cidrB],
  ] as const) {
    await must('ip', ['-n', ns, 'address', 'add', cidr, 'dev', ifName]);
    await must('ip', ['-n', ns, 'link', 'set', ifName, 'up']);
  }
}

export async function setIpForward(ns: string, on: boolean): Promise<string> {
  await inNs(ns, 'tee', ['/proc/sys/net/ipv4/ip_forward'], on ? '1\n' : '0\n');
  return (await inNs(ns, 'cat', ['/proc/sys/net/ipv4/ip_forward'])).trim();
}

/** One echo request, 2 s timeout. */
export async function ping(ns: string, address: string): Promise<boolean> {
  return (await run('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', '1', '-W', '2', address])).exitCode === 0;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Configures a device interface from renderDeviceConfig's wg-quick file, the way a device does:
 * `wg-quick strip` it, then `wg setconf`. Both files hold the private key: 0600 in a private
 * temp dir, removed right after. (`/dev/stdin` is no option: Node's stdin pipe is a socket.)
 */
export async function configureDevice(ns: string, ifName: string, input: DeviceConfigInput): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'xsw-conf-'));
  try {
    const file = join(dir, `${ifName}.conf`);
    await writeFile(file, renderDeviceConfig(input), { mode: 0o600 });
    const stripped = join(dir, 'stripped.conf');
    await writeFile(stripped, await must('wg-quick', ['strip', file]), { mode: 0o600 });
    await inNs(ns, 'wg', ['setconf', ifName, stripped]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
