// What the lab needs on the machine; a missing piece is an error naming it (tests fail, never skip).
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { run } from './exec.js';
import { AGENT_MAIN } from './agent-build.js';
import { readSysctl } from './net.js';

export class LabUnavailableError extends Error {}

const INSTALL_HINT = 'Install with: bash infra/scripts/lib.sh lab_apt_packages (npm test does this)';

async function works(file: string, args: string[]): Promise<string | null> {
  const result = await run(file, args, { timeoutMs: 10_000 });
  return result.exitCode === 0
    ? null
    : `\`${[file, ...args].join(' ')}\` does not work: ${result.stderr.trim().split('\n')[0] || 'not found'}`;
}

export async function checkPrerequisites(options: { containers: boolean }): Promise<void> {
  const problems: string[] = [];
  if (process.platform !== 'linux') problems.push('the lab needs Linux');
  if (process.getuid?.() !== 0) problems.push('the lab needs root (network namespaces, WireGuard, Docker)');
  const tun = await access('/dev/net/tun', constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
  if (!tun) problems.push('/dev/net/tun is missing or not accessible (wireguard-go needs TUN)');
  const checks: Array<[string, string[]]> = [
    ['ip', ['netns', 'list']],
    ['bridge', ['-V']],
    ['wg', ['--version']],
    ['wireguard-go', ['--version']],
    ['wg-quick', ['--help']],
    ['ssh-keygen', ['-?']],
  ];
  if (options.containers) checks.push(['dockerd', ['--version']], ['debootstrap', ['--version']], ['tar', ['--version']]);
  for (const [file, args] of checks) {
    const problem = await works(file, args);
    // ssh-keygen has no harmless flag that exits 0: "unknown option" still proves it runs.
    if (problem && !(file === 'ssh-keygen' && !/not found|ENOENT/.test(problem))) problems.push(problem);
  }
  if (
    !(await access(AGENT_MAIN).then(
      () => true,
      () => false,
    ))
  )
    problems.push(`${AGENT_MAIN} is missing (build first: npx tsc -b)`);
  const forward = await readSysctl('net/ipv4/ip_forward').catch(() => '?');
  if (forward !== '0')
    problems.push(
      `net.ipv4.ip_forward is ${forward} in the root namespace, expected 0: something turned on routing (a dockerd without --ip-forward=false?). ` +
        'The lab does not change it; with forwarding on, devices could reach each other through the hub',
    );
  if (problems.length > 0) throw new LabUnavailableError(`fleet lab unavailable: ${problems.join('; ')}. ${INSTALL_HINT}`);
}
