import type { DeviceSshSetup } from '@xspectre/contracts';
import type { CliContext } from '../cli-context.js';
import { errorMessage, printable } from '../errors.js';
import { enrollSshSkipReason, SSH_SETUP_PATHS } from '../ssh-setup.js';
import { applySshSetup, exists, SshSetupError, type SshSetupResult } from './apply.js';

export const RETRY_HINT = 'bootstrap.sh --configure-ssh (as root) retries it';

/** One line for the technician: what changed, or that everything was in place. */
export function describeSshSetup(result: SshSetupResult): string {
  if (result.changes.length === 0) return 'ssh: terminal and file sessions already configured (nothing changed)\n';
  return `ssh: terminal and file sessions configured: ${result.changes.join('; ')}; ${result.sshd}\n`;
}

export function describeSshFailure(err: unknown): string {
  const step = err instanceof SshSetupError ? err.step : 'unexpected error';
  return `configuring SSH sessions failed at step "${step}": ${printable(errorMessage(err), 2000)}`;
}

/**
 * After enrollment: configures this device's sshd for terminal sessions when the API sent the
 * setup, enroll runs as root and this machine has sshd. Never undoes the enrollment: a failure is a
 * warning naming the step and how to retry.
 */
export async function configureSshAfterEnroll(setup: DeviceSshSetup | undefined, hostKeyFile: string, ctx: CliContext): Promise<void> {
  const reason = enrollSshSkipReason({
    setup,
    isRoot: process.getuid?.() === 0,
    hasSshd: await exists(SSH_SETUP_PATHS.sshd),
    hostKeyFile,
  });
  // An API older than terminal sessions: nothing to configure and nothing the technician can do
  // (the enroll output stays the one line agent/test/agent-protocol.spec.ts expects of it).
  if (setup === undefined) return;
  if (reason !== null) {
    ctx.stdout(`ssh: terminal and file sessions not configured on this device: ${reason}\n`);
    return;
  }
  try {
    ctx.stdout(describeSshSetup(await applySshSetup(setup)));
  } catch (err) {
    ctx.stderr(`xspectre-agent: warning: the device is enrolled, but ${describeSshFailure(err)}; ${RETRY_HINT}\n`);
  }
}
