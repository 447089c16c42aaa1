import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  AGENT_PROTOCOL_VERSION,
  ClaimCodeTextSchema,
  EnrollRequestSchema,
  EnrollResponseSchema,
  type EnrollRequest,
  type EnrollResponse,
} from '@xspectre/contracts';
import { parseFlags } from './args.js';
import { ensureDirectory, writeFileAtomic } from './atomic-file.js';
import type { CliContext } from './cli-context.js';
import { agentConfigExists, AgentConfigSchema, HttpUrlSchema, resolvePaths, writeAgentConfig, type AgentConfig } from './config.js';
import { AgentError, ExitCode, printable, readLocalFile, UsageError } from './errors.js';
import type { HostFacts } from './facts.js';
import { apiEndpoint, ApiUnreachableError, postJson, type ApiResponse } from './http.js';
import { KEY_PIN } from './pinned-tls.js';
import { loadOrCreateInstallationSalt, StateStore } from './state.js';
import { AGENT_VERSION } from './version.js';
import { configureSshAfterEnroll } from './ssh/enroll-ssh.js';
import { parseSshHostKeyLine, recordHostKeyFile } from './ssh/host-key.js';
import { SSH_SETUP_PATHS } from './ssh-setup.js';
import { renderWgQuickConfig, TunnelSchema } from './wg-config.js';
import { readWireGuardPrivateKey, wireGuardPublicKey } from './wg-key.js';

export const DEFAULT_SSH_HOST_KEY_FILE = SSH_SETUP_PATHS.hostKey;
export const DEFAULT_WG_CONFIG_OUT = '/etc/wireguard/wg0.conf';
export const ENROLL_TIMEOUT_MS = 30_000;

const FLAGS = {
  claim: { type: 'string' },
  api: { type: 'string' },
  pin: { type: 'string' },
  'wg-private-key-file': { type: 'string' },
  'ssh-host-key-file': { type: 'string' },
  'wg-config-out': { type: 'string' },
  config: { type: 'string' },
  'state-dir': { type: 'string' },
  force: { type: 'boolean' },
} as const;

export async function enrollCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const flags = parseFlags('enroll', argv, FLAGS);
  const claim = ClaimCodeTextSchema.safeParse(flags.requireString('claim'));
  if (!claim.success) throw new UsageError(`enroll: --claim: ${claim.error.issues[0]?.message ?? 'invalid claim code'}`);
  const api = HttpUrlSchema.safeParse(flags.requireString('api'));
  if (!api.success) throw new UsageError('enroll: --api must be the http(s) URL of the API, e.g. https://ops.example.com/api/v1');
  const pin = flags.string('pin');
  if (pin !== undefined && !KEY_PIN.test(pin)) throw new UsageError('enroll: --pin must be sha256// and a base64 SHA-256 (44 characters)');
  if (pin !== undefined && !api.data.startsWith('https://')) throw new UsageError('enroll: --pin needs an https:// --api');
  const keyFile = flags.requireString('wg-private-key-file');
  const sshHostKeyFile = flags.string('ssh-host-key-file') ?? DEFAULT_SSH_HOST_KEY_FILE;
  const wgConfigOut = flags.string('wg-config-out') ?? DEFAULT_WG_CONFIG_OUT;
  const paths = resolvePaths({ config: flags.string('config'), stateDir: flags.string('state-dir') }, ctx.env);

  if (!flags.boolean('force') && (await agentConfigExists(paths.configPath))) {
    throw new AgentError(
      ExitCode.ALREADY_ENROLLED,
      `this device is already enrolled (${paths.configPath} exists); use --force to enroll it again with a new claim code`,
    );
  }

  const privateKey = await readWireGuardPrivateKey(keyFile);
  const request = buildEnrollRequest({
    claimCode: claim.data,
    facts: await ctx.collectFacts(),
    installationSalt: await loadOrCreateInstallationSalt(paths.stateDir),
    wgPublicKey: wireGuardPublicKey(privateKey),
    sshHostKey: await readSshHostKey(sshHostKeyFile),
  });

  const url = apiEndpoint(api.data, 'enroll');
  let response: ApiResponse;
  try {
    response = await postJson(url, request, { timeoutMs: ENROLL_TIMEOUT_MS, ...(pin ? { pin } : {}) });
  } catch (err) {
    if (err instanceof ApiUnreachableError) throw new AgentError(ExitCode.API_UNREACHABLE, `the API is unreachable: ${err.message}`);
    throw err;
  }
  const enrolled = interpretEnrollAnswer(response);
  const config = agentConfigFrom(enrolled, new Date());

  // Everything is checked; now write. wg0.conf first: the agent config marks "enrolled".
  await ensureDirectory(dirname(wgConfigOut));
  await writeFileAtomic(wgConfigOut, renderWgQuickConfig({ privateKey, tunnel: enrolled.tunnel, deviceId: enrolled.deviceId }), 0o600);
  await writeAgentConfig(paths.configPath, config);
  const store = new StateStore(paths.stateDir);
  const { state } = await store.load();
  await store.save({ ...state, lastAck: null }); // the sequence goes on; an old identity's ack does not count
  await recordHostKeyFile(paths.stateDir, sshHostKeyFile); // inventories report the key enrollment pinned

  ctx.stdout(
    `enrolled: device ${printable(enrolled.deviceName, 120)} (${enrolled.deviceId}), ${enrolled.deviceType}, ` +
      `overlay address ${config.overlayAddress}/${config.overlayPrefixLength}, hub ${config.hubEndpoint}, API ${config.apiUrl}\n`,
  );
  await configureSshAfterEnroll(enrolled.ssh, resolve(sshHostKeyFile), ctx);
  return ExitCode.OK;
}

export interface EnrollRequestInput {
  claimCode: string;
  facts: HostFacts;
  installationSalt: string;
  wgPublicKey: string;
  sshHostKey: string;
}

/** The EnrollRequest, checked against the contract before it leaves (a failure is a local problem). */
export function buildEnrollRequest(input: EnrollRequestInput): EnrollRequest {
  const request = {
    protocolVersion: AGENT_PROTOCOL_VERSION,
    claimCode: input.claimCode,
    hostname: input.facts.hostname,
    localIps: input.facts.localIps,
    macs: input.facts.macs,
    hardware: input.facts.hardware,
    installationSalt: input.installationSalt,
    wgPublicKey: input.wgPublicKey,
    sshHostKey: input.sshHostKey,
    agentVersion: AGENT_VERSION,
  };
  const parsed = EnrollRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw new AgentError(ExitCode.LOCAL_ERROR, `cannot build a valid enrollment request from this host: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** The answer to `POST enroll` → the enrollment, or an AgentError with the exit code for its kind. */
export function interpretEnrollAnswer(response: ApiResponse): EnrollResponse {
  if (response.status === 200 || response.status === 201) {
    const parsed = EnrollResponseSchema.safeParse(response.body);
    if (!parsed.success)
      throw new AgentError(
        ExitCode.BAD_ANSWER,
        `the API's enrollment answer does not follow the contract: ${describeIssues(parsed.error)}`,
      );
    const tunnel = TunnelSchema.safeParse(parsed.data.tunnel);
    if (!tunnel.success)
      throw new AgentError(ExitCode.BAD_ANSWER, `the API's tunnel configuration is unusable: ${describeIssues(tunnel.error, ['tunnel'])}`);
    return parsed.data;
  }
  const problem = response.problem;
  if (problem === undefined)
    throw new AgentError(ExitCode.BAD_ANSWER, `the API answered HTTP ${response.status} without a problem description`);
  const code = printable(problem.code, 80);
  const detail = printable(problem.detail || problem.title);
  const requestId = problem.requestId ? ` (request id ${printable(problem.requestId, 80)})` : '';
  if (code.startsWith('CLAIM_CODE_')) throw new AgentError(ExitCode.CLAIM_REJECTED, `claim code rejected: ${code}: ${detail}${requestId}`);
  throw new AgentError(ExitCode.API_REFUSED, `enrollment refused (HTTP ${response.status}): ${code}: ${detail}${requestId}`);
}

export function agentConfigFrom(enrolled: EnrollResponse, now: Date): AgentConfig {
  const config = {
    deviceId: enrolled.deviceId,
    deviceName: enrolled.deviceName,
    apiUrl: enrolled.apiUrl,
    deviceCredential: enrolled.deviceCredential,
    commandSigningPublicKey: enrolled.commandSigningPublicKey,
    // All of them: during a rotation commands may still come signed with the outgoing key.
    commandSigningKeys: enrolled.commandSigningKeys,
    heartbeatIntervalSeconds: enrolled.heartbeatIntervalSeconds,
    protocolVersion: AGENT_PROTOCOL_VERSION,
    overlayAddress: enrolled.tunnel.address,
    overlayPrefixLength: enrolled.tunnel.prefixLength,
    hubEndpoint: enrolled.tunnel.hubEndpoint,
    modules: enrolled.modules,
    enrolledAt: now.toISOString(),
  };
  const parsed = AgentConfigSchema.safeParse(config);
  if (!parsed.success)
    throw new AgentError(ExitCode.BAD_ANSWER, `the API's enrollment answer is unusable: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** `ssh-ed25519 AAAA… comment` → `ssh-ed25519 AAAA…` (the comment is the host's business). */
export async function readSshHostKey(path: string): Promise<string> {
  const hostKey = parseSshHostKeyLine(await readLocalFile(path, 'the SSH host key'));
  if (hostKey === null) {
    throw new AgentError(ExitCode.LOCAL_ERROR, `${path} is not an OpenSSH public host key (ssh-ed25519, ecdsa-sha2-nistp256 or ssh-rsa)`);
  }
  return hostKey;
}

/** Field paths and messages only — never the values (they may hold the credential). */
function describeIssues(error: z.ZodError, prefix: string[] = []): string {
  return error.issues
    .slice(0, 8)
    .map((issue) => `${[...prefix, ...issue.path.map(String)].join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
}
