import type { CliContext } from './cli-context.js';
import { enrollCommand } from './enroll.js';
import { AgentError, errorMessage, ExitCode, printable, UsageError } from './errors.js';
import { recoveryCommand, RECOVERY_USAGE } from './recovery/recovery-command.js';
import { runCommand } from './run.js';
import { configureSshCommand } from './ssh/configure-ssh.js';
import { statusCommand } from './status.js';
import { recoveryBootCommand } from './commands/recovery-boot.js';
import { AGENT_BUILD_ID, AGENT_VERSION } from './version.js';

export const USAGE = `xspectre-agent ${AGENT_VERSION}: the xSPECTRE device agent

Usage:
  xspectre-agent enroll --claim CODE --api URL --wg-private-key-file FILE [--pin sha256//KEY]
                        [--ssh-host-key-file FILE] [--wg-config-out FILE]
                        [--config FILE] [--state-dir DIR] [--force]
      Enrolls this device with a claim code: sends its WireGuard public key, SSH host key
      and hardware facts to URL/enroll (URL like https://ops.example.com/api/v1), then writes
      the WireGuard config (default /etc/wireguard/wg0.conf) and the agent config. --pin trusts
      exactly that TLS server key instead of a CA chain (a proxy with a private CA). As root, with
      the host key of this machine's sshd, it also configures sshd for terminal and file
      sessions (see configure-ssh); a failure there is a warning, the enrollment stands.
  xspectre-agent configure-ssh [--config FILE] [--state-dir DIR]
      As root: fetches this device's SSH setup from the API over the tunnel and applies it
      (account xspectre-ops with passwordless sudo, the API's user CA and this device's
      principal under /etc/ssh/xspectre, a drop-in in /etc/ssh/sshd_config.d, sshd -t, reload).
      Idempotent: exit 0 when done or already in place. bootstrap.sh --configure-ssh runs it.
  xspectre-agent run [--config FILE] [--state-dir DIR]
      Runs the agent (the systemd service): heartbeats over the overlay; JSON log lines on stdout.
  xspectre-agent status [--wait-for-ack SECONDS] [--max-age SECONDS] [--config FILE] [--state-dir DIR]
      Prints the enrollment and the last acknowledged heartbeat. --wait-for-ack waits for a
      new acknowledgement (exit 1 on timeout); --max-age exits 1 unless the last one is recent.
  xspectre-agent recovery-boot
      As root: arms a one-time boot to the recovery stick in this device (efibootmgr --bootnext,
      or a GRUB entry and grub-reboot) and reboots. The reboot-to-recovery command runs it.
${RECOVERY_USAGE}  xspectre-agent --version | build-id | help

Files: --config (env XSPECTRE_CONFIG, default /etc/xspectre/agent.conf),
       --state-dir (env XSPECTRE_STATE_DIR, default /var/lib/xspectre).

Exit codes: 0 ok, 1 failure/timeout, 2 usage, 3 claim code rejected, 4 API unreachable,
  5 bad answer from the API, 6 local file problem or not enrolled, 7 already enrolled
  (use --force), 8 API refused the request, 9 another agent runs on the same state directory.
`;

export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (rest.includes('--help') || rest.includes('-h')) {
      ctx.stdout(USAGE);
      return ExitCode.OK;
    }
    switch (command) {
      case 'enroll':
        return await enrollCommand(rest, ctx);
      case 'run':
        return await runCommand(rest, ctx);
      case 'status':
        return await statusCommand(rest, ctx);
      case 'configure-ssh':
        return await configureSshCommand(rest, ctx);
      case 'recovery':
        return await recoveryCommand(rest, ctx);
      case 'recovery-boot':
        return await recoveryBootCommand(rest, ctx);
      case 'version':
      case '--version':
      case '-V':
        if (rest.length > 0) throw new UsageError(`${command} takes no arguments`);
        ctx.stdout(`${AGENT_VERSION}\n`);
        return ExitCode.OK;
      case 'build-id':
        if (rest.length > 0) throw new UsageError(`${command} takes no arguments`);
        ctx.stdout(`${AGENT_BUILD_ID ?? 'none'}\n`);
        return ExitCode.OK;
      case 'help':
      case '--help':
      case '-h':
        ctx.stdout(USAGE);
        return ExitCode.OK;
      case undefined:
        throw new UsageError('no command given');
      default:
        throw new UsageError(`unknown command "${printable(command, 40)}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.stderr(`xspectre-agent: ${err.message}\nRun "xspectre-agent help" for usage.\n`);
      return err.exitCode;
    }
    if (err instanceof AgentError) {
      ctx.stderr(`xspectre-agent: ${err.message}\n`);
      return err.exitCode;
    }
    ctx.stderr(`xspectre-agent: unexpected error: ${errorMessage(err)}\n`);
    return ExitCode.FAILURE;
  }
}
