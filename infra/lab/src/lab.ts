// startLab(): the hub side (underlay bridge + WireGuard hub for the API, in the root
// namespace, which is where the API runs) and devices added one by one; teardown() removes it all.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseWgDump, type HubInterfaceStatus } from '@xspectre/wireguard';
import { must, run } from './exec.js';
import { ensureAgentExecutable } from './agent-build.js';
import { ensureDockerd, containerPid, runDeviceContainer, waitForSystemd, nameHostLocally } from './docker.js';
import { ensureDeviceImage } from './image.js';
import { deviceDocker, deviceEnginePaths, startDeviceEngine } from './device-engine.js';
import { installGreenbone, prepareGreenboneDirs, type GreenboneOptions } from './greenbone.js';
import { mountMissingCgroupHierarchies } from './cgroups.js';
import type { RunOptions, RunResult } from './exec.js';
import { startLabApi, type LabApi, type LabApiOptions } from './lab-api.js';
import { ContainerDevice, LightDevice, destroyDevice, type BootstrapOptions, type DeviceContext, type LabDevice } from './devices.js';
import {
  deviceNames,
  labNames,
  MAX_DEVICES,
  newLabId,
  checkLabId,
  OVERLAY_HUB_ADDRESS,
  OVERLAY_PREFIX,
  UNDERLAY_HUB_ADDRESS,
  underlayAddress,
} from './names.js';
import { addNetns, attachDevice, attachNetns, createBridge, freeTcpPort, freeUdpPort, readSysctl, writeSysctl } from './net.js';
import { checkPrerequisites } from './preflight.js';
import { wgKeyPair } from './keys.js';
import { procRef } from './processes.js';
import { claimActive, releaseActive, removeState, writeState, type DeviceKind, type DeviceRecord, type LabState } from './state.js';
import { findLeftovers, sweepLab, teardownState } from './sweep.js';
import { startWireGuard } from './wireguard.js';

export interface StartLabOptions {
  /** 6 hex digits; random by default. */
  id?: string;
  /** The TCP port the API will listen on (all addresses); a free one by default. */
  apiPort?: number;
  /** Prepare device containers now (Docker engine, device image, agent executable), so a missing piece fails here. */
  containers?: boolean;
  /** How long to wait for another live lab to finish (one lab at a time). Default 10 min. */
  waitForOtherLabMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /**
   * Use this running WireGuard hub in the root namespace (e.g. `npm start`'s xs-hub0, 10.10.0.1/24)
   * instead of creating one: the lab adds only the underlay and devices, never changes or removes
   * the hub. Light devices only; they reach it at 198.18.0.1:its port whatever endpoint the API announces.
   */
  existingHub?: string;
}

export interface LabHub {
  /** WireGuard interface in the root namespace (API_WG_INTERFACE). */
  interfaceName: string;
  publicKey: string;
  listenPort: number;
  /** Overlay address, 10.10.0.1. */
  address: string;
  /** Where devices reach it: 198.18.0.1:PORT (API_WG_ENDPOINT). */
  endpoint: string;
}

export interface AddDeviceOptions {
  /** Enroll right away (bootstrap) with this code; a failing bootstrap throws. Without it, call device.bootstrap(code). */
  claimCode?: string;
  /** Container hostname (default lab-dN). */
  hostname?: string;
  /**
   * Container devices: a Greenbone install in the devices' engine (greenbone.ts), its /run/gvmd
   * directory mounted into the device at the same path. The engine is shared by all devices, so
   * a second install in one lab needs its own `project`.
   */
  greenbone?: boolean | GreenboneOptions;
}

export class Lab {
  private readonly deviceList: LabDevice[] = [];
  private saving: Promise<void> = Promise.resolve();
  private containersReady: Promise<void> | undefined;
  private nextDevice = 1;
  private tornDown = false;
  private labApi: LabApi | undefined;

  /** @internal use startLab() */
  constructor(
    readonly state: LabState,
    private readonly log: (line: string) => void,
  ) {}

  get id(): string {
    return this.state.id;
  }

  get hub(): LabHub {
    const hub = this.state.hub ?? this.state.attachedHub!;
    return {
      interfaceName: hub.name,
      publicKey: hub.publicKey,
      listenPort: hub.listenPort,
      address: OVERLAY_HUB_ADDRESS,
      endpoint: `${UNDERLAY_HUB_ADDRESS}:${hub.listenPort}`,
    };
  }

  get apiPort(): number {
    return this.state.apiPort;
  }

  /** The API as devices reach it before they have a tunnel (enrollment, downloads). */
  get underlayApiUrl(): string {
    return `http://${UNDERLAY_HUB_ADDRESS}:${this.apiPort}/api/v1`;
  }

  /** The API as enrolled devices reach it: through their tunnel only. */
  get overlayApiUrl(): string {
    return `http://${OVERLAY_HUB_ADDRESS}:${this.apiPort}/api/v1`;
  }

  /** API settings that point the API at this lab's hub (merge into its environment; listen on all addresses, port apiPort). */
  apiEnv(): Record<string, string> {
    return {
      API_WG_INTERFACE: this.hub.interfaceName,
      API_WG_ENDPOINT: this.hub.endpoint,
      API_AGENT_API_URL: this.overlayApiUrl,
    };
  }

  /**
   * Starts the lab's own API as a process (`node api/dist/main.js`, database `xspectre_lab_ID`,
   * listening on apiPort on all addresses, settings from apiEnv() plus `options.env`). Teardown
   * stops it and drops the database. Tests that need not kill the API use TestApi instead.
   */
  async startApi(options: LabApiOptions = {}): Promise<LabApi> {
    if (this.tornDown) throw new Error(`fleet lab ${this.id} is torn down`);
    this.labApi = await startLabApi(this, options);
    return this.labApi;
  }

  /** The API started by startApi(), if any. */
  get api(): LabApi | undefined {
    return this.labApi;
  }

  get devices(): readonly LabDevice[] {
    return this.deviceList;
  }

  /** `wg show` of the hub, parsed (never includes the private key). */
  async hubStatus(): Promise<HubInterfaceStatus> {
    return parseWgDump(await must('wg', ['show', this.hub.interfaceName, 'dump']));
  }

  /** A light device: its own network namespace on the underlay, the agent as a process with its own config root. */
  async addLightDevice(options: AddDeviceOptions = {}): Promise<LightDevice> {
    const record = await this.newRecord('light');
    const device = new LightDevice(this.context(record));
    try {
      await mkdir(record.dir, { recursive: true, mode: 0o700 });
      await addNetns(record.netns);
      await attachDevice(this.state.bridge!, record.veth, record.netns, record.underlayAddress);
      await device.prepare();
    } catch (error) {
      await this.dropDevice(record);
      throw error;
    }
    this.deviceList.push(device);
    if (options.claimCode !== undefined) await this.mustBootstrap(device, options.claimCode);
    return device;
  }

  /** A device container: Debian with systemd as PID 1 and sshd, on its own underlay network namespace. */
  async addContainerDevice(options: AddDeviceOptions = {}): Promise<ContainerDevice> {
    // bootstrap.sh configures the tunnel with the endpoint the API announces, which need not be on the lab's underlay.
    if (this.state.attachedHub) throw new Error('a lab on an existing hub has light devices only');
    await this.prepareContainers();
    const record = await this.newRecord('container');
    const names = deviceNames(this.id, record.n);
    record.container = names.container;
    await this.save();
    const device = new ContainerDevice(this.context(record));
    const greenbone = options.greenbone === true ? {} : options.greenbone || undefined;
    try {
      await mkdir(record.dir, { recursive: true, mode: 0o700 });
      // Under the device's directory, which teardown removes with the lab's.
      const greenbonePaths = greenbone ? await prepareGreenboneDirs(record.dir) : undefined;
      await runDeviceContainer({
        name: names.container,
        hostname: options.hostname ?? `lab-${record.name}`,
        image: this.image!,
        labId: this.id,
        dockerSocket: deviceEnginePaths(this.id).socket,
        ...(greenbonePaths ? { volumes: [`${greenbonePaths.runDir}:${greenbonePaths.runDir}`] } : {}),
      });
      await attachNetns(record.netns, await containerPid(names.container));
      await attachDevice(this.state.bridge!, record.veth, record.netns, record.underlayAddress);
      await waitForSystemd(names.container);
      await nameHostLocally(names.container);
      // Its systemd may have created cgroup hierarchies the host lacks: without them Docker sees no OOM kill.
      await mountMissingCgroupHierarchies(this.log);
      if (greenbone) device.greenbone = await installGreenbone(this.id, record.dir, greenbone);
    } catch (error) {
      await this.dropDevice(record);
      throw error;
    }
    this.deviceList.push(device);
    if (options.claimCode !== undefined) await this.mustBootstrap(device, options.claimCode);
    return device;
  }

  /** Docker engine, device image and agent executable; once per lab. */
  prepareContainers(): Promise<void> {
    this.containersReady ??= (async () => {
      await checkPrerequisites({ containers: true });
      await ensureAgentExecutable(this.log);
      const owned = await ensureDockerd(this.id, this.log);
      if (owned) {
        this.state.dockerd = owned;
        await this.save();
      }
      this.image = await ensureDeviceImage(this.log);
      if (!this.state.deviceEngine) {
        this.state.deviceEngine = await startDeviceEngine(
          this.id,
          async (pid) => {
            this.state.deviceEngine = pid;
            await this.save();
          },
          this.log,
        );
        await this.save();
      }
    })();
    return this.containersReady;
  }
  private image: string | undefined;

  /**
   * The `docker` CLI against the devices' own engine (its socket is every device container's
   * /run/docker.sock): the containers a device's agent sees and acts on. Never throws for a non-zero exit.
   */
  deviceDocker(args: readonly string[], options?: RunOptions): Promise<RunResult> {
    return deviceDocker(this.id, args, options);
  }

  /** What is left of this lab on the machine (empty after teardown). */
  leftovers(): Promise<string[]> {
    return findLeftovers(this.id);
  }

  /** Removes every device, the hub, the bridge (and a dockerd the lab started); throws listing what could not be removed. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    await this.saving;
    const problems = await teardownState(this.state, this.log);
    const left = await findLeftovers(this.id);
    if (left.length === 0) {
      await removeState(this.id);
      await releaseActive(this.id);
    }
    if (problems.length > 0 || left.length > 0)
      throw new Error(`fleet lab ${this.id} teardown incomplete: ${[...problems, ...left.map((l) => `left: ${l}`)].join('; ')}`);
  }

  /** Marks the lab as left running (`lab up`): it stays live after this process exits. */
  async detach(): Promise<void> {
    this.state.detached = true;
    this.state.owner = null;
    await this.save();
  }

  /** @internal */
  save(): Promise<void> {
    const next = this.saving.then(() => writeState(this.state));
    this.saving = next.catch(() => undefined);
    return next;
  }

  private async newRecord(kind: DeviceKind): Promise<DeviceRecord> {
    if (this.tornDown) throw new Error(`fleet lab ${this.id} is torn down`);
    const n = this.nextDevice++;
    if (n > MAX_DEVICES) throw new RangeError(`a lab holds at most ${MAX_DEVICES} devices`);
    const names = deviceNames(this.id, n);
    const record: DeviceRecord = {
      n,
      name: names.name,
      kind,
      netns: names.netns,
      veth: names.veth,
      underlayAddress: underlayAddress(n),
      dir: join(labNames(this.id).dir, names.name),
    };
    // Recorded before anything is created: a crash from here on leaves nothing the sweeper does not know.
    this.state.devices.push(record);
    await this.save();
    return record;
  }

  private async dropDevice(record: DeviceRecord): Promise<void> {
    await destroyDevice(record).catch((error: Error) => this.log(`cleanup of ${record.name} failed: ${error.message}`));
    this.state.devices = this.state.devices.filter((r) => r !== record);
    await this.save();
  }

  private context(record: DeviceRecord): DeviceContext {
    return {
      labId: this.id,
      underlayApiUrl: this.underlayApiUrl,
      bridge: this.state.bridge!,
      record,
      save: () => this.save(),
      ...(this.state.attachedHub ? { hubEndpoint: this.hub.endpoint } : {}),
    };
  }

  private async mustBootstrap(device: LabDevice, claimCode: string, options?: BootstrapOptions): Promise<void> {
    const result = await device.bootstrap(claimCode, options);
    if (result.exitCode !== 0)
      throw new Error(
        `bootstrap of ${device.name} failed (exit ${result.exitCode}): ${`${result.stdout}\n${result.stderr}`.trim().slice(-3000)}`,
      );
  }
}

/** A running hub in the root namespace: 10.10.0.1/24, listening, forwarding off; read, never changed. */
async function existingHub(name: string): Promise<NonNullable<LabState['attachedHub']>> {
  const shown = await run('wg', ['show', name, 'dump']);
  if (shown.exitCode !== 0) throw new Error(`no WireGuard hub ${name} in the root namespace: ${shown.stderr.trim()}`);
  const hub = parseWgDump(shown.stdout);
  const address = await must('ip', ['-4', '-o', 'address', 'show', 'dev', name]);
  if (!address.includes(` inet ${OVERLAY_HUB_ADDRESS}/${OVERLAY_PREFIX} `))
    throw new Error(`hub ${name} does not have ${OVERLAY_HUB_ADDRESS}/${OVERLAY_PREFIX}`);
  if ((await readSysctl(`net/ipv4/conf/${name}/forwarding`)) !== '0') throw new Error(`forwarding is on for hub ${name}`);
  if (!hub.listenPort) throw new Error(`hub ${name} has no listen port`);
  return { name, listenPort: hub.listenPort, publicKey: hub.publicKey };
}

/**
 * Starts a fleet lab: sweeps what crashed labs left, claims the machine (one lab at a time),
 * creates the underlay bridge `xsl-ID-br` (198.18.0.1/16) and the WireGuard hub `xsl-ID-hub`
 * (10.10.0.1/24, a free UDP port, forwarding off on that interface) in the root namespace.
 */
export async function startLab(options: StartLabOptions = {}): Promise<Lab> {
  const log = options.log ?? (() => undefined);
  await checkPrerequisites({ containers: options.containers ?? false });
  const id = options.id === undefined ? newLabId() : checkLabId(options.id);
  await claimActive(id, options.waitForOtherLabMs ?? 10 * 60_000, async () => {
    const removed = await sweepLab({ keep: id, log });
    if (removed.length > 0) log(`swept ${removed.length} leftovers of earlier labs`);
  });
  const names = labNames(id);
  const state: LabState = {
    version: 1,
    id,
    createdAt: new Date().toISOString(),
    owner: await procRef(process.pid),
    detached: false,
    apiPort: options.apiPort ?? (await freeTcpPort()),
    bridge: names.bridge,
    hub: null,
    dockerd: null,
    devices: [],
    api: null,
  };
  const lab = new Lab(state, log);
  try {
    // Sweep again now that we hold the machine (a lab that died while we waited).
    await sweepLab({ keep: id, log });
    const taken = (await must('ip', ['-4', '-o', 'address', 'show']))
      .split('\n')
      .filter((line) => / inet (10\.10\.0\.|198\.1[89]\.)/.test(line))
      .filter((line) => options.existingHub === undefined || !line.includes(` ${options.existingHub} `));
    if (taken.length > 0)
      throw new Error(`the root namespace already uses the lab's address ranges (10.10.0.0/24, 198.18.0.0/15): ${taken.join('; ')}`);
    await mkdir(names.dir, { recursive: true, mode: 0o700 });
    await lab.save();
    await createBridge(names.bridge);
    if (options.existingHub !== undefined) {
      state.attachedHub = await existingHub(options.existingHub);
      await lab.save();
      log(
        `lab ${id}: on hub ${state.attachedHub.name} (udp ${UNDERLAY_HUB_ADDRESS}:${state.attachedHub.listenPort}), API port ${state.apiPort}`,
      );
      return lab;
    }
    const keys = await wgKeyPair();
    const listenPort = await freeUdpPort();
    const wg = await startWireGuard({
      name: names.hub,
      cidr: `${OVERLAY_HUB_ADDRESS}/${OVERLAY_PREFIX}`,
      setup: { kind: 'key', privateKey: keys.privateKey, listenPort },
      logFile: join(names.dir, 'hub-wireguard-go.log'),
      workDir: names.dir,
      labId: id,
    });
    state.hub = { name: wg.name, listenPort, publicKey: keys.publicKey, pid: wg.pid };
    await lab.save();
    // No forwarding from the hub interface: nothing a device sends is ever routed on to another device.
    await writeSysctl(`net/ipv4/conf/${names.hub}/forwarding`, '0');
    const forwarding = [await readSysctl(`net/ipv4/conf/${names.hub}/forwarding`), await readSysctl('net/ipv4/ip_forward')];
    if (forwarding.some((v) => v !== '0')) throw new Error(`forwarding must be off (hub ${forwarding[0]}, ip_forward ${forwarding[1]})`);
    log(
      `lab ${id}: hub ${names.hub} ${OVERLAY_HUB_ADDRESS}/${OVERLAY_PREFIX} on udp ${UNDERLAY_HUB_ADDRESS}:${listenPort}, API port ${state.apiPort}`,
    );
    if (options.containers) await lab.prepareContainers();
    return lab;
  } catch (error) {
    await lab.teardown().catch((e: Error) => log(e.message));
    throw error;
  }
}
