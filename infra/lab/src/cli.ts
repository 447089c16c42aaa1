// npm run lab -w infra/lab -- up [--devices N] [--flavour light|container] [--heartbeat-seconds S]
//                           -- down [ID] | status | sweep
// `up` starts a lab plus its own API (own database), creates N devices through the API, enrolls
// them from their claim codes and leaves everything running; `down` removes it again.
import { parseArgs } from 'node:util';
import { DOCKER_CLI_HINT } from './docker.js';
import { startLab } from './lab.js';
import { mapLimit } from './map-limit.js';
import { labNames } from './names.js';
import { activeLabId, listStates, readState, stateIsLive, type LabState } from './state.js';
import { findLeftovers, sweepLab, teardownState } from './sweep.js';
import { removeState, releaseActive } from './state.js';

const USAGE = `usage: npm run lab -w infra/lab -- <command>
  up [--devices N] [--flavour light|container] [--heartbeat-seconds S]
        start a lab, its own API and N enrolled devices (default 3 light), leave them running
  down [ID]   remove the lab (default: the active one), its API and database
  status      show the labs this machine knows
  sweep       remove what crashed labs left behind`;

const log = (line: string) => console.log(`lab: ${line}`);

async function up(argv: string[]): Promise<number> {
  let values: { devices: string; flavour: string; 'heartbeat-seconds': string };
  try {
    values = parseArgs({
      args: argv,
      options: {
        devices: { type: 'string', default: '3' },
        flavour: { type: 'string', default: 'light' },
        'heartbeat-seconds': { type: 'string', default: '30' },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const count = Number(values.devices);
  const flavour = values.flavour;
  const heartbeat = Number(values['heartbeat-seconds']);
  if (!Number.isInteger(count) || count < 0 || count > 200) throw new UsageError('--devices must be 0-200');
  if (flavour !== 'light' && flavour !== 'container') throw new UsageError('--flavour must be light or container');
  if (!Number.isInteger(heartbeat) || heartbeat < 5 || heartbeat > 3600) throw new UsageError('--heartbeat-seconds must be 5-3600');

  const lab = await startLab({ containers: flavour === 'container', log, waitForOtherLabMs: 0 });
  try {
    log(`starting the API on port ${lab.apiPort} (database ${labNames(lab.id).database})`);
    const api = await lab.startApi({ env: { API_AGENT_HEARTBEAT_SECONDS: String(heartbeat) } });
    log(`API ready (log ${api.logFile})`);
    const admin = await api.admin();
    const site = await admin.createSite(`Fleet lab ${lab.id}`);
    const numbers = Array.from({ length: count }, (_, i) => i + 1);
    await mapLimit(numbers, flavour === 'light' ? 8 : 3, async () => {
      const device = flavour === 'light' ? await lab.addLightDevice() : await lab.addContainerDevice();
      const { claimCode } = await admin.createDevice(`lab-${lab.id}-${device.name}`, site);
      const result = await device.bootstrap(claimCode);
      if (result.exitCode !== 0)
        throw new Error(`${device.name}: bootstrap failed (exit ${result.exitCode}): ${result.stderr.trim().slice(-1500)}`);
      log(
        `${device.name}: enrolled as ${device.overlayAddress} in ${((result.finishedAt.getTime() - result.startedAt.getTime()) / 1000).toFixed(1)} s`,
      );
    });
    await lab.detach();
    printSummary(lab.state);
    return 0;
  } catch (error) {
    log(`up failed: ${(error as Error).message}`);
    log('removing what was created');
    await lab.teardown().catch((e: Error) => log(e.message));
    return 1;
  }
}

function printSummary(state: LabState): void {
  const hub = state.hub!;
  const lines = [
    `fleet lab ${state.id} is up`,
    `  API        ${state.api?.url ?? '(none)'}   devices enroll at http://198.18.0.1:${state.apiPort}/api/v1, then use http://10.10.0.1:${state.apiPort}/api/v1 over the tunnel`,
    `  admin      ${state.api?.adminEmail ?? ''} / ${state.api?.adminPassword ?? ''}`,
    `  hub        ${hub.name} 10.10.0.1/24, udp 198.18.0.1:${hub.listenPort}   (wg show ${hub.name})`,
    `  underlay   bridge ${state.bridge} 198.18.0.1/16`,
    `  devices`,
    ...state.devices.map(
      (d) =>
        `    ${d.name.padEnd(5)} ${d.kind.padEnd(9)} overlay ${(d.overlayAddress ?? '-').padEnd(12)} underlay ${d.underlayAddress.padEnd(13)} ` +
        (d.container ? `${DOCKER_CLI_HINT} exec -it ${d.container} bash` : `ip netns exec ${d.netns} bash   (config ${d.dir})`),
    ),
    `  state      ${labNames(state.id).stateFile}`,
    `  stop with  npm run lab -w infra/lab -- down`,
  ];
  console.log(lines.join('\n'));
}

async function down(argv: string[]): Promise<number> {
  const id = argv[0] ?? (await activeLabId()) ?? (await listStates())[0]?.id;
  if (!id) {
    log('no lab to remove; sweeping leftovers');
    const removed = await sweepLab({ log });
    log(removed.length ? `removed ${removed.join(', ')}` : 'nothing left over');
    return 0;
  }
  const state = await readState(id);
  if (!state) throw new UsageError(`no state for lab ${id}`);
  if (!state.detached && (await stateIsLive(state)))
    throw new Error(`lab ${id} belongs to a running process (pid ${state.owner?.pid}); it tears it down itself`);
  log(`removing lab ${id}`);
  const problems = await teardownState(state, log);
  const left = await findLeftovers(id);
  if (left.length === 0) {
    await removeState(id);
    await releaseActive(id);
  }
  for (const line of [...problems, ...left.map((l) => `left: ${l}`)]) log(line);
  log(problems.length === 0 && left.length === 0 ? `lab ${id} removed; nothing left behind` : `lab ${id} was not removed completely`);
  return problems.length === 0 && left.length === 0 ? 0 : 1;
}

async function status(): Promise<number> {
  const states = await listStates();
  if (states.length === 0) log('no labs');
  for (const state of states) {
    const live = await stateIsLive(state);
    console.log(
      `${state.id}  ${live ? 'live' : 'stale'}  ${state.detached ? 'detached' : `owner pid ${state.owner?.pid}`}  ${state.devices.length} devices`,
    );
    if (live) printSummary(state);
  }
  const left = await findLeftovers();
  if (left.length > 0) console.log(`lab objects on this machine:\n  ${left.join('\n  ')}`);
  return 0;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'up':
        return await up(rest);
      case 'down':
        return await down(rest);
      case 'status':
        return await status();
      case 'sweep': {
        const removed = await sweepLab({ log });
        log(removed.length ? `removed ${removed.join(', ')}` : 'nothing left over');
        return 0;
      }
      default:
        console.error(USAGE);
        return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`lab: ${error.message}\n${USAGE}`);
      return 2;
    }
    console.error(`lab: ${(error as Error).message}`);
    return 1;
  }
}

// Exit explicitly: the detached lab processes must not keep this one alive (they are unref'd anyway).
main(process.argv.slice(2)).then((code) => process.exit(code));
