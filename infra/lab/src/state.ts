// The lab's state file (/run/xspectre-lab/labs/ID.json): everything a lab created, so that
// `teardown()`, `lab down` (another process) and the sweeper can remove it by name and PID.
// One lab at a time: its hub owns 10.10.0.0/24 in the root namespace. /run/xspectre-lab/active
// names the lab that holds the machine.
import { chmod, link, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labNames, RUN_ROOT } from './names.js';
import { isRunning, procRef, type ProcRef } from './processes.js';
import { run, sleep } from './exec.js';

export type DeviceKind = 'light' | 'container';

export interface DeviceRecord {
  n: number;
  name: string;
  kind: DeviceKind;
  netns: string;
  veth: string;
  underlayAddress: string;
  /** Config root (light) or log directory (container). */
  dir: string;
  container?: string;
  wireguard?: { name: string; pid: ProcRef };
  agent?: ProcRef;
  /** Other processes started in the device (LightDevice.startProcess). */
  processes?: ProcRef[];
  overlayAddress?: string;
}

export interface ApiRecord {
  pid: ProcRef;
  database: string;
  /** The cluster holding `database` (an admin URL), when not the machine's (DB_ADMIN_URL). */
  databaseAdminUrl?: string;
  url: string;
  adminEmail: string;
  adminPassword: string;
  logFile: string;
}

export interface LabState {
  version: 1;
  id: string;
  createdAt: string;
  /** The process that keeps this lab (a test run); when it dies the lab is stale, unless detached. */
  owner: ProcRef | null;
  /** Left running on purpose (`lab up`): alive as long as its hub is. */
  detached: boolean;
  apiPort: number;
  bridge: string | null;
  hub: { name: string; listenPort: number; publicKey: string; pid: ProcRef } | null;
  /** A hub the lab uses but did not create (startLab's existingHub): never stopped by the lab. */
  attachedHub?: { name: string; listenPort: number; publicKey: string };
  /** A dockerd this lab started or adopted: stopped at teardown. */
  dockerd: ProcRef | null;
  /** The devices' own engine (device-engine.ts): stopped at teardown. */
  deviceEngine?: ProcRef | null;
  devices: DeviceRecord[];
  /** The API process `lab up` starts (tests run their own). */
  api: ApiRecord | null;
  /** The worker process started beside the lab's API (maintenance jobs: offline detection, command expiry). */
  worker?: ProcRef | null;
}

const ACTIVE_FILE = join(RUN_ROOT, 'active');

export async function ensureRunRoot(): Promise<void> {
  await mkdir(join(RUN_ROOT, 'labs'), { recursive: true, mode: 0o700 });
  await chmod(RUN_ROOT, 0o700);
}

export async function writeState(state: LabState): Promise<void> {
  const file = labNames(state.id).stateFile;
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

export async function readState(id: string): Promise<LabState | null> {
  try {
    return JSON.parse(await readFile(labNames(id).stateFile, 'utf8')) as LabState;
  } catch {
    return null;
  }
}

export async function listStates(): Promise<LabState[]> {
  const entries = await readdir(join(RUN_ROOT, 'labs')).catch(() => [] as string[]);
  const states: LabState[] = [];
  for (const entry of entries) {
    const id = /^([0-9a-f]{6})\.json$/.exec(entry)?.[1];
    const state = id ? await readState(id) : null;
    if (state) states.push(state);
  }
  return states;
}

export async function removeState(id: string): Promise<void> {
  const names = labNames(id);
  await rm(names.stateFile, { force: true });
  await rm(names.dir, { recursive: true, force: true });
}

interface ActiveRecord {
  id: string;
  owner: ProcRef | null;
}

async function readActive(): Promise<ActiveRecord | null | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(ACTIVE_FILE, 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as ActiveRecord;
    return typeof parsed.id === 'string' ? parsed : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** A lab is live while its owner runs, or, once detached, while its hub's wireguard-go (or the hub it attached to) runs. */
export async function stateIsLive(state: LabState): Promise<boolean> {
  if (await isRunning(state.owner)) return true;
  if (!state.detached) return false;
  if (state.attachedHub) return (await run('ip', ['link', 'show', 'dev', state.attachedHub.name])).exitCode === 0;
  return isRunning(state.hub?.pid);
}

/** The id of the lab holding the machine, if that lab is live. */
export async function liveLabId(): Promise<string | undefined> {
  const active = await readActive();
  if (active === null || active === 'unreadable') return undefined;
  if (await isRunning(active.owner)) return active.id;
  const state = await readState(active.id);
  return state && (await stateIsLive(state)) ? active.id : undefined;
}

export class LabBusyError extends Error {}

/**
 * Makes `id` the active lab (atomically: link(2) fails when another holds it). While another
 * live lab holds the machine, waits up to `waitMs`, then throws LabBusyError. A stale holder
 * is handed to `clearStale` (the sweeper) and the claim is retried.
 */
export async function claimActive(id: string, waitMs: number, clearStale: () => Promise<void>): Promise<void> {
  await ensureRunRoot();
  const owner = await procRef(process.pid);
  const tmp = `${ACTIVE_FILE}.${id}.tmp`;
  await writeFile(tmp, JSON.stringify({ id, owner } satisfies ActiveRecord), { mode: 0o600 });
  const deadline = Date.now() + waitMs;
  try {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      try {
        await link(tmp, ACTIVE_FILE);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readActive();
      const live = await liveLabId();
      if (live === undefined) {
        await clearStale();
        // Remove the stale claim only if it is still the one we judged (another starter may have replaced it).
        const now = await readActive();
        if (JSON.stringify(now) === JSON.stringify(holder)) await rm(ACTIVE_FILE, { force: true });
        continue;
      }
      const state = await readState(live);
      // A lab left running by `lab up` does not go away by waiting.
      if (state?.detached || Date.now() >= deadline) {
        const how = state?.detached
          ? 'left running by `npm run lab -w infra/lab -- up`; remove it with `npm run lab -w infra/lab -- down`'
          : `its owner, pid ${state?.owner?.pid ?? '?'}, is still running`;
        throw new LabBusyError(
          `another fleet lab (${live}) holds this machine (${how}). Only one lab runs at a time: its hub owns 10.10.0.0/24 in the root namespace.`,
        );
      }
      await sleep(1000);
    }
    throw new LabBusyError('could not claim the fleet lab (too many attempts)');
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Releases the machine if `id` holds it. */
export async function releaseActive(id: string): Promise<void> {
  const active = await readActive();
  if (active === 'unreadable' || active?.id === id) await rm(ACTIVE_FILE, { force: true });
}

export async function activeLabId(): Promise<string | undefined> {
  const active = await readActive();
  return active === null || active === 'unreadable' ? undefined : active.id;
}
