import { setTimeout as sleep } from 'node:timers/promises';
import { parseFlags } from './args.js';
import type { CliContext } from './cli-context.js';
import { loadAgentConfig, resolvePaths, type AgentConfig } from './config.js';
import { ExitCode, printable } from './errors.js';
import { StateStore, type AgentState } from './state.js';

const FLAGS = {
  config: { type: 'string' },
  'state-dir': { type: 'string' },
  'wait-for-ack': { type: 'string' },
  'max-age': { type: 'string' },
} as const;

export const POLL_INTERVAL_MS = 500;

/**
 * `status`: prints the enrollment and the last acknowledged heartbeat.
 * `--wait-for-ack N`: waits up to N s for an acknowledgement that arrives after the command
 * started (exit 0), else exit 1. `--max-age N`: exit 1 unless the last acknowledgement is at
 * most N s old. Not enrolled: exit 6.
 */
export async function statusCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const flags = parseFlags('status', argv, FLAGS);
  const waitSeconds = flags.seconds('wait-for-ack', 1, 86_400);
  const maxAgeSeconds = flags.seconds('max-age', 1, 31_536_000);
  const paths = resolvePaths({ config: flags.string('config'), stateDir: flags.string('state-dir') }, ctx.env);
  const started = ctx.now().getTime();
  const config = await loadAgentConfig(paths.configPath);
  const store = new StateStore(paths.stateDir);

  let state = await store.peek();
  if (waitSeconds !== undefined) {
    const deadline = started + waitSeconds * 1000;
    while (!ackAfter(state, started)) {
      if (ctx.now().getTime() >= deadline) {
        ctx.stdout(describeStatus(config, state, ctx.now()));
        ctx.stderr(`xspectre-agent: no acknowledged heartbeat within ${waitSeconds} s (is the agent running and the tunnel up?)\n`);
        return ExitCode.FAILURE;
      }
      await sleep(POLL_INTERVAL_MS);
      state = await store.peek();
    }
  }

  ctx.stdout(describeStatus(config, state, ctx.now()));
  if (maxAgeSeconds !== undefined) {
    const at = state.lastAck ? Date.parse(state.lastAck.at) : Number.NaN;
    if (!(ctx.now().getTime() - at <= maxAgeSeconds * 1000)) return ExitCode.FAILURE;
  }
  return ExitCode.OK;
}

export function ackAfter(state: AgentState, since: number): boolean {
  return state.lastAck !== null && Date.parse(state.lastAck.at) > since;
}

/** The human-readable status; never the credential. */
export function describeStatus(config: AgentConfig, state: AgentState, now: Date): string {
  const ack = state.lastAck;
  const ackLine = ack
    ? `sequence ${ack.sequence} at ${ack.at} (${Math.max(0, Math.round((now.getTime() - Date.parse(ack.at)) / 1000))} s ago)`
    : 'none yet';
  return [
    `device: ${printable(config.deviceName, 120)} (${config.deviceId})`,
    `overlay address: ${config.overlayAddress}/${config.overlayPrefixLength}`,
    `hub endpoint: ${config.hubEndpoint}`,
    `api: ${config.apiUrl}`,
    `last sequence: ${state.sequence}`,
    `last acknowledged heartbeat: ${ackLine}`,
    '',
  ].join('\n');
}
