import { DeviceSshSetupSchema, sshPrincipalOf, type DeviceSshSetup } from '@xspectre/contracts';
import { parseFlags } from '../args.js';
import type { CliContext } from '../cli-context.js';
import { loadAgentConfig, resolvePaths } from '../config.js';
import { AgentError, ExitCode, printable } from '../errors.js';
import { apiEndpoint, ApiUnreachableError, getJson } from '../http.js';
import { SSH_SETUP_PATHS } from '../ssh-setup.js';
import { applySshSetup, exists } from './apply.js';
import { describeSshFailure, describeSshSetup } from './enroll-ssh.js';

const FLAGS = {
  config: { type: 'string' },
  'state-dir': { type: 'string' },
} as const;

export const SSH_SETUP_TIMEOUT_MS = 30_000;

/**
 * `configure-ssh`: fetches this device's SSH setup (`GET agent/ssh-setup`, with the device
 * credential, over the tunnel) and applies it: for devices enrolled before terminal sessions
 * existed, and to repair the setup. Exit 0 when done or already in place.
 */
export async function configureSshCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const flags = parseFlags('configure-ssh', argv, FLAGS);
  const paths = resolvePaths({ config: flags.string('config'), stateDir: flags.string('state-dir') }, ctx.env);
  const config = await loadAgentConfig(paths.configPath);
  if (process.getuid?.() !== 0)
    throw new AgentError(ExitCode.FAILURE, 'configure-ssh must run as root (it creates an account and configures sshd)');
  if (!(await exists(SSH_SETUP_PATHS.sshd)))
    throw new AgentError(ExitCode.FAILURE, `there is no OpenSSH server here (${SSH_SETUP_PATHS.sshd}): install openssh-server first`);

  const setup = await fetchSshSetup(config.apiUrl, config.deviceCredential, config.deviceId);
  try {
    ctx.stdout(describeSshSetup(await applySshSetup(setup)));
  } catch (err) {
    throw new AgentError(ExitCode.FAILURE, describeSshFailure(err));
  }
  return ExitCode.OK;
}

async function fetchSshSetup(apiUrl: string, credential: string, deviceId: string): Promise<DeviceSshSetup> {
  let response;
  try {
    response = await getJson(apiEndpoint(apiUrl, 'agent/ssh-setup'), { timeoutMs: SSH_SETUP_TIMEOUT_MS, bearer: credential });
  } catch (err) {
    if (err instanceof ApiUnreachableError)
      throw new AgentError(ExitCode.API_UNREACHABLE, `the API is unreachable: ${err.message} (is the tunnel up?)`);
    throw err;
  }
  if (response.status !== 200) {
    const problem = response.problem;
    const why = problem ? `${printable(problem.code, 80)}: ${printable(problem.detail || problem.title)}` : 'no problem description';
    throw new AgentError(ExitCode.API_REFUSED, `the API refused the SSH setup (HTTP ${response.status}): ${why}`);
  }
  const parsed = DeviceSshSetupSchema.safeParse(response.body);
  if (!parsed.success) throw new AgentError(ExitCode.BAD_ANSWER, "the API's SSH setup does not follow the contract");
  // A setup for another device would let that device's certificates in here.
  if (parsed.data.principal !== sshPrincipalOf(deviceId))
    throw new AgentError(ExitCode.BAD_ANSWER, `the API's SSH setup names the principal of another device (${parsed.data.principal})`);
  return parsed.data;
}
