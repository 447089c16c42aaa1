// Teardown from a state file, the leftover check, and the sweeper for crashed labs.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { destroyDevice } from './devices.js';
import { stopDeviceEngine } from './device-engine.js';
import { labDockerd, listLabContainers, removeContainer, stopDockerd } from './docker.js';
import { dropDatabase } from './api-process.js';
import { labIdOf, labNames, RUN_ROOT } from './names.js';
import { deleteLink, deleteNetns, listLinks, listNetns, netnsPids } from './net.js';
import { listProcesses, procRef, stopProcess, type ProcessInfo } from './processes.js';
import { listStates, liveLabId, readState, releaseActive, removeState, type LabState } from './state.js';
import { stopWireGuard, WIREGUARD_SOCKET_DIR } from './wireguard.js';

type Log = (line: string) => void;

/**
 * Removes everything `state` records, in reverse order of creation, each step on its own (one
 * failure does not stop the rest). Returns the problems; an empty list means all went.
 */
export async function teardownState(state: LabState, log: Log = () => undefined): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
    }
  };
  for (const device of [...state.devices].reverse()) {
    log(`removing device ${device.name} (${device.kind})`);
    await attempt(`device ${device.name}`, () => destroyDevice(device));
  }
  if (state.deviceEngine) {
    const engine = state.deviceEngine;
    log(`stopping the devices' dockerd (pid ${engine.pid})`);
    await attempt('device engine', () => stopDeviceEngine(state.id, engine));
  }
  if (state.worker) {
    const worker = state.worker;
    await attempt('worker process', () => stopProcess(worker, 15_000));
  }
  if (state.api) {
    const api = state.api;
    log(`stopping the API (pid ${api.pid.pid}) and dropping database ${api.database}`);
    await attempt('API process', () => stopProcess(api.pid, 15_000));
    await attempt('API database', () => dropDatabase(api.database, api.databaseAdminUrl));
  }
  if (state.hub) {
    const hub = state.hub;
    log(`removing hub ${hub.name}`);
    await attempt('hub', () => stopWireGuard({ name: hub.name, netns: undefined, pid: hub.pid }));
  }
  if (state.bridge && (await listLinks()).includes(state.bridge)) await attempt('bridge', () => deleteLink(state.bridge!));
  if (state.dockerd) {
    log(`stopping the lab's dockerd (pid ${state.dockerd.pid})`);
    await attempt('dockerd', () => stopDockerd(state.dockerd!));
  }
  return problems;
}

/** Every process the lab starts carries XSPECTRE_LAB=<id> in its environment (never matched by name). */
function processBelongsTo(p: ProcessInfo, id: string | undefined): boolean {
  return p.labMarker !== undefined && (id === undefined || p.labMarker === id);
}

/**
 * What is left of lab `id` (of any lab when undefined): namespaces, root-namespace links,
 * WireGuard sockets, processes and containers. Empty when the lab is gone.
 */
export async function findLeftovers(id?: string): Promise<string[]> {
  const ours = (name: string) => {
    const of = labIdOf(name);
    return of !== undefined && (id === undefined || of === id);
  };
  const found: string[] = [];
  for (const ns of await listNetns()) if (ours(ns)) found.push(`netns ${ns}`);
  for (const link of await listLinks()) if (ours(link)) found.push(`link ${link}`);
  for (const entry of await readdir(WIREGUARD_SOCKET_DIR).catch(() => [] as string[]))
    if (entry.endsWith('.sock') && ours(entry.slice(0, -5))) found.push(`socket ${join(WIREGUARD_SOCKET_DIR, entry)}`);
  for (const p of await listProcesses()) if (processBelongsTo(p, id)) found.push(`process ${p.pid} (${p.argv.join(' ').slice(0, 160)})`);
  for (const c of await listLabContainers()) if (id === undefined || c.labId === id) found.push(`container ${c.name}`);
  return found;
}

/**
 * Removes what crashed labs left: everything named `xsl-<id>-…` or recorded in a state file,
 * for every lab but the live one (and `keep`). Processes are stopped one by one, by PID.
 * Also stops a dockerd that a lab started and no live lab uses. Returns what it removed.
 */
export async function sweepLab(options: { keep?: string; log?: Log } = {}): Promise<string[]> {
  const log = options.log ?? (() => undefined);
  const live = await liveLabId();
  const spare = (id: string | undefined) => id !== undefined && (id === live || id === options.keep);
  const removed: string[] = [];

  for (const state of await listStates()) {
    if (spare(state.id)) continue;
    log(`sweeping lab ${state.id} (left by an earlier run)`);
    const problems = await teardownState(state, log);
    for (const problem of problems) log(`  ${problem}`);
    await removeState(state.id);
    await releaseActive(state.id);
    removed.push(`lab ${state.id}`);
  }

  for (const c of await listLabContainers()) {
    if (spare(c.labId)) continue;
    await removeContainer(c.name).then(
      () => removed.push(`container ${c.name}`),
      (error: Error) => log(`  container ${c.name}: ${error.message}`),
    );
  }
  for (const p of await listProcesses()) {
    if (!processBelongsTo(p, undefined)) continue;
    if (spare(p.labMarker)) continue;
    await stopProcess(await procRef(p.pid), 3000).then(
      () => removed.push(`process ${p.pid} (${p.argv.join(' ').slice(0, 120)})`),
      (error: Error) => log(`  process ${p.pid}: ${error.message}`),
    );
  }
  for (const ns of await listNetns()) {
    const id = labIdOf(ns);
    if (id === undefined || spare(id)) continue;
    for (const pid of await netnsPids(ns)) await stopProcess(await procRef(pid), 2000).catch(() => undefined);
    await deleteNetns(ns).then(
      () => removed.push(`netns ${ns}`),
      (error: Error) => log(`  netns ${ns}: ${error.message}`),
    );
  }
  for (const link of await listLinks()) {
    const id = labIdOf(link);
    if (id === undefined || spare(id)) continue;
    await deleteLink(link).then(
      () => removed.push(`link ${link}`),
      (error: Error) => log(`  link ${link}: ${error.message}`),
    );
  }
  for (const entry of await readdir(WIREGUARD_SOCKET_DIR).catch(() => [] as string[])) {
    const id = entry.endsWith('.sock') ? labIdOf(entry.slice(0, -5)) : undefined;
    if (id === undefined || spare(id)) continue;
    await rm(join(WIREGUARD_SOCKET_DIR, entry), { force: true });
    removed.push(`socket ${entry}`);
  }
  for (const entry of await readdir(join(RUN_ROOT, 'labs')).catch(() => [] as string[])) {
    const id = /^([0-9a-f]{6})$/.exec(entry)?.[1];
    if (id !== undefined && !spare(id) && !(await readState(id))) await rm(labNames(id).dir, { recursive: true, force: true });
  }
  const dockerd = await labDockerd();
  if (dockerd && !spare(dockerd.labId)) {
    log(`stopping dockerd (pid ${dockerd.pid.pid}) left by lab ${dockerd.labId}`);
    await stopDockerd(dockerd.pid);
    removed.push(`dockerd ${dockerd.pid.pid}`);
  }
  return removed;
}
