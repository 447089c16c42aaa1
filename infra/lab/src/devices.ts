// Simulated devices. Light: a network namespace, the agent (node agent/dist/main.js) with its own
// config root, a wireguard-go tunnel configured from the agent's own wg0.conf. Container: Debian
// with systemd as PID 1 and sshd, enrolled by the real bootstrap.sh (agent as a systemd service,
// tunnel by wg-quick@wg0 with wireguard-go).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { must, run, sleep, type RunOptions, type RunResult } from './exec.js';
import { containerPid, docker, mustDocker, removeContainer, waitForSystemd, nameHostLocally } from './docker.js';
import { AGENT_MAIN, AGENT_NODE_FLAGS } from './agent-build.js';
import { wgKeyPair } from './keys.js';
import { deviceNames } from './names.js';
import { attachDevice, attachNetns, deleteLink, deleteNetns, eth0Mac, listLinks, listNetns, netnsPids } from './net.js';
import { isRunning, procRef, spawnDaemon, stopProcess } from './processes.js';
import { startWireGuard, stopWireGuard } from './wireguard.js';
import type { DeviceKind, DeviceRecord } from './state.js';
import type { GreenboneInstall } from './greenbone.js';

export interface BootstrapResult extends RunResult {
  startedAt: Date;
  finishedAt: Date;
  /** The overlay address the device got (on success). */
  overlayAddress?: string;
}

export interface BootstrapOptions {
  /** Light devices: wait for the first acknowledged heartbeat like bootstrap.sh does (default true). */
  waitForAck?: boolean;
}

export interface LabDevice {
  readonly kind: DeviceKind;
  /** Lab-local name: d1, d2, ... */
  readonly name: string;
  /** Named network namespace (a container's is attached under this name): `ip -n NETNS ...` works for both. */
  readonly netns: string;
  readonly container: string | undefined;
  readonly underlayAddress: string;
  readonly overlayAddress: string | undefined;
  /** Runs a command in the device (its namespace, or inside its container). Never throws for a non-zero exit. */
  exec(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Enrolls with a claim code: bootstrap.sh in a container; enroll + tunnel + agent for a light device. */
  bootstrap(claimCode: string, options?: BootstrapOptions): Promise<BootstrapResult>;
  /** Stops the agent (the tunnel stays up). */
  stopAgent(): Promise<void>;
  /** Host PIDs: the agent and wireguard-go (light), the container's init (container). */
  pids(): Promise<{ agent?: number; wireguard?: number; init?: number }>;
}

export interface DeviceContext {
  labId: string;
  /** Where devices enroll, over the underlay (http://198.18.0.1:PORT/api/v1). */
  underlayApiUrl: string;
  /** The underlay bridge (a restarted container is attached to it again). */
  bridge: string;
  record: DeviceRecord;
  save(): Promise<void>;
  /** Where the tunnel reaches the hub, when not the endpoint the API announces (a lab on an existing hub). */
  hubEndpoint?: string;
}

const ADDRESS_LINE = /^\s*Address\s*=\s*([0-9.]+)\/(\d+)\s*$/m;

/** What both flavours read from their record. */
abstract class RecordedDevice {
  constructor(protected readonly ctx: DeviceContext) {}

  get name() {
    return this.ctx.record.name;
  }
  get netns() {
    return this.ctx.record.netns;
  }
  get underlayAddress() {
    return this.ctx.record.underlayAddress;
  }
  get overlayAddress() {
    return this.ctx.record.overlayAddress;
  }
}

export class LightDevice extends RecordedDevice implements LabDevice {
  readonly kind = 'light';

  get container() {
    return undefined;
  }

  /** The device's config root: agent.conf, state/, wg0.conf, wg0.key, its SSH host key, logs (all 0600). */
  get configDir(): string {
    return this.ctx.record.dir;
  }

  private get paths() {
    const dir = this.ctx.record.dir;
    return {
      key: join(dir, 'wg0.key'),
      sshKey: join(dir, 'ssh_host_ed25519_key'),
      wgConfig: join(dir, 'wg0.conf'),
      agentConfig: join(dir, 'agent.conf'),
      stateDir: join(dir, 'state'),
      agentLog: join(dir, 'agent.log'),
      wireguardLog: join(dir, 'wireguard-go.log'),
    };
  }

  /** The device's own keys: a WireGuard private key (0600) and an ed25519 SSH host key. */
  async prepare(): Promise<void> {
    const paths = this.paths;
    await writeFile(paths.key, `${(await wgKeyPair()).privateKey}\n`, { mode: 0o600 });
    await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${this.name}`, '-f', paths.sshKey]);
  }

  exec(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.netns, file, ...args], options);
  }

  async bootstrap(claimCode: string, options: BootstrapOptions = {}): Promise<BootstrapResult> {
    const paths = this.paths;
    const startedAt = new Date();
    const enroll = await this.exec(
      process.execPath,
      [
        ...AGENT_NODE_FLAGS,
        AGENT_MAIN,
        'enroll',
        '--claim',
        claimCode,
        '--api',
        this.ctx.underlayApiUrl,
        '--wg-private-key-file',
        paths.key,
        '--ssh-host-key-file',
        `${paths.sshKey}.pub`,
        '--wg-config-out',
        paths.wgConfig,
        '--config',
        paths.agentConfig,
        '--state-dir',
        paths.stateDir,
      ],
      { timeoutMs: 60_000 },
    );
    if (enroll.exitCode !== 0) return { ...enroll, startedAt, finishedAt: new Date() };

    const address = ADDRESS_LINE.exec(await readFile(paths.wgConfig, 'utf8'));
    if (!address) throw new Error(`${paths.wgConfig} has no Address line`);
    const record = this.ctx.record;
    const wg = await startWireGuard({
      name: deviceNames(this.ctx.labId, record.n).wireguard,
      netns: this.netns,
      cidr: `${address[1]}/${address[2]}`,
      setup: { kind: 'wg-quick', configFile: paths.wgConfig, ...(this.ctx.hubEndpoint ? { endpoint: this.ctx.hubEndpoint } : {}) },
      logFile: paths.wireguardLog,
      workDir: record.dir,
      labId: this.ctx.labId,
    });
    record.wireguard = { name: wg.name, pid: wg.pid };
    record.overlayAddress = address[1];
    await this.ctx.save();
    record.agent = await spawnDaemon(
      'ip',
      [
        'netns',
        'exec',
        this.netns,
        process.execPath,
        ...AGENT_NODE_FLAGS,
        AGENT_MAIN,
        'run',
        '--config',
        paths.agentConfig,
        '--state-dir',
        paths.stateDir,
      ],
      { logFile: paths.agentLog, env: { ...process.env, XSPECTRE_LAB: this.ctx.labId } },
    );
    await this.ctx.save();

    let result: RunResult = enroll;
    if (options.waitForAck ?? true) {
      const acked = await this.waitForAck(90_000);
      if (!acked)
        result = { ...enroll, exitCode: 15, stderr: `${enroll.stderr}no heartbeat acknowledged within 90 s (see ${paths.agentLog})\n` };
    }
    return { ...result, startedAt, finishedAt: new Date(), overlayAddress: address[1] };
  }

  /** The agent's state file records the last acknowledged heartbeat (enrollment resets it). */
  private async waitForAck(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const state = await readFile(join(this.paths.stateDir, 'state.json'), 'utf8').catch(() => '');
      try {
        if ((JSON.parse(state) as { lastAck?: unknown }).lastAck) return true;
      } catch {
        /* not written yet */
      }
      if (!(await isRunning(this.ctx.record.agent))) return false;
      await sleep(200);
    }
    return false;
  }

  async stopAgent(): Promise<void> {
    await stopProcess(this.ctx.record.agent, 5000);
  }

  /** Starts a long-running process in the device (detached, marked and recorded, so teardown and the sweeper stop it). */
  async startProcess(file: string, args: readonly string[], logName: string): Promise<number> {
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(logName)) throw new TypeError(`log name must be a plain file name, got ${JSON.stringify(logName)}`);
    const record = this.ctx.record;
    const ref = await spawnDaemon('ip', ['netns', 'exec', this.netns, file, ...args], {
      logFile: join(record.dir, logName),
      env: { ...process.env, XSPECTRE_LAB: this.ctx.labId },
    });
    (record.processes ??= []).push(ref);
    await this.ctx.save();
    return ref.pid;
  }

  async pids() {
    const record = this.ctx.record;
    return {
      ...((await isRunning(record.agent)) ? { agent: record.agent!.pid } : {}),
      ...((await isRunning(record.wireguard?.pid)) ? { wireguard: record.wireguard!.pid.pid } : {}),
    };
  }
}

export class ContainerDevice extends RecordedDevice implements LabDevice {
  readonly kind = 'container';
  /** Its Greenbone install (addContainerDevice({ greenbone })), if any. */
  greenbone: GreenboneInstall | undefined;

  get container() {
    return this.ctx.record.container;
  }

  exec(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return docker(['exec', ...(options.input === undefined ? [] : ['--interactive']), this.container!, file, ...args], options);
  }

  /** Fetches bootstrap.sh from the API over the underlay and runs it, as a technician would. */
  async bootstrap(claimCode: string): Promise<BootstrapResult> {
    const startedAt = new Date();
    const fetched = await this.exec(
      'curl',
      ['-fsS', '--max-time', '30', '-o', '/root/bootstrap.sh', `${this.ctx.underlayApiUrl}/agent/bootstrap.sh`],
      { timeoutMs: 40_000 },
    );
    if (fetched.exitCode !== 0) return { ...fetched, startedAt, finishedAt: new Date() };
    const result = await this.exec(
      'bash',
      ['/root/bootstrap.sh', '--claim', claimCode, '--api', this.ctx.underlayApiUrl, '--insecure-http'],
      {
        timeoutMs: 5 * 60_000,
      },
    );
    const finishedAt = new Date();
    if (result.exitCode !== 0) return { ...result, startedAt, finishedAt };
    const wg0 = await this.exec('ip', ['-4', '-o', 'address', 'show', 'dev', 'wg0']);
    const overlayAddress = /inet ([0-9.]+)\//.exec(wg0.stdout)?.[1];
    if (overlayAddress) {
      this.ctx.record.overlayAddress = overlayAddress;
      await this.ctx.save();
    }
    return { ...result, startedAt, finishedAt, ...(overlayAddress ? { overlayAddress } : {}) };
  }

  /** Whether the container runs (false after `systemctl reboot` or `poweroff` inside it: systemd as PID 1 exits). */
  async isRunning(): Promise<boolean> {
    const result = await docker(['inspect', '--format', '{{.State.Running}}', this.container!]);
    return result.stdout.trim() === 'true';
  }

  /** Pulls the plug: SIGKILL to every process of the container at once (no shutdown; the disk keeps what was written). */
  async powerOff(): Promise<void> {
    await mustDocker(['kill', this.container!], { timeoutMs: 60_000 });
    if (!(await this.waitForStop(30_000))) throw new Error(`container ${this.container} still runs after docker kill`);
  }

  /** Waits until the container has stopped (e.g. a reboot inside it); false after `timeoutMs`. */
  async waitForStop(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!(await this.isRunning())) return true;
      await sleep(250);
    }
    return false;
  }

  /**
   * Boots the container again, as the power button would: `docker start` when it stopped (a
   * reboot inside it ends the container, since its systemd is PID 1 of its own namespace),
   * `docker restart` when it runs; then its new network namespace gets the underlay veth again
   * and systemd is waited for. Its disk (the container's file system) is kept, /run is new.
   */
  async restart(): Promise<void> {
    const name = this.container!;
    await mustDocker([(await this.isRunning()) ? 'restart' : 'start', name], { timeoutMs: 120_000 });
    const record = this.ctx.record;
    // The same network card after the boot: its MAC address is part of the hardware fingerprint.
    const mac = await eth0Mac(record.netns);
    // The old named namespace holds the old veth end; dropping it frees both ends of the pair.
    await deleteNetns(record.netns);
    if ((await listLinks()).includes(record.veth)) await deleteLink(record.veth);
    await attachNetns(record.netns, await containerPid(name));
    await attachDevice(this.ctx.bridge, record.veth, record.netns, record.underlayAddress, mac);
    await waitForSystemd(name);
    await nameHostLocally(name);
  }

  async stopAgent(): Promise<void> {
    const result = await this.exec('systemctl', ['stop', 'xspectre-agent.service'], { timeoutMs: 60_000 });
    if (result.exitCode !== 0) throw new Error(`systemctl stop xspectre-agent in ${this.container}: ${result.stderr.trim()}`);
  }

  async pids() {
    const inspect = await docker(['inspect', '--format', '{{.State.Pid}}', this.container!]);
    const init = Number(inspect.stdout.trim());
    return init > 0 ? { init } : {};
  }
}

/** Removes one device by its record: processes by PID, container, namespace, veth, config root. */
export async function destroyDevice(record: DeviceRecord): Promise<void> {
  const errors: string[] = [];
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      errors.push(`${what}: ${(error as Error).message}`);
    }
  };
  for (const ref of record.processes ?? []) await attempt(`process ${ref.pid}`, () => stopProcess(ref, 2000));
  await attempt('agent', () => stopProcess(record.agent, 5000));
  if (record.wireguard) {
    const wg = record.wireguard;
    await attempt('wireguard-go', () => stopWireGuard({ name: wg.name, netns: record.netns, pid: wg.pid }));
  }
  if (record.container) await attempt('container', () => removeContainer(record.container!));
  if ((await listNetns()).includes(record.netns)) {
    if (record.kind === 'light') {
      // Anything else started in the namespace (by exec) goes too, each by its PID.
      for (const pid of await netnsPids(record.netns)) {
        const ref = await procRef(pid);
        await attempt(`process ${pid} in ${record.netns}`, () => stopProcess(ref, 2000));
      }
    }
    await attempt('netns', () => deleteNetns(record.netns));
  }
  if ((await listLinks()).includes(record.veth)) await attempt('veth', () => deleteLink(record.veth));
  if (errors.length > 0) throw new Error(`device ${record.name}: ${errors.join('; ')}`);
}
