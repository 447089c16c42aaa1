// cgroup v1 hierarchies that a device container's systemd creates and the host has not mounted.
//
// systemd in a device container mounts every cgroup v1 controller it finds unmounted (on this
// machine hugetlb, perf_event and net_cls,net_prio) inside its own mount namespace. From then on
// every process's /proc/PID/cgroup names those hierarchies, and containerd's cgroup loader (in
// the shims of both lab engines) fails for each new container with "cgroups: cannot find cgroup
// mount destination": no OOM notifications (no `oom` event, State.OOMKilled false) and no memory
// stats. Mounting the same hierarchies on the host, where a systemd host has them anyway, lets
// containers started afterwards be watched again. The mounts stay (the kernel keeps a hierarchy
// while any cgroup of it exists; an unmounted one helps nobody).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { must, run } from './exec.js';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Enabled v1 controllers grouped by hierarchy id (/proc/cgroups), e.g. [['net_cls', 'net_prio'], ['hugetlb']]. */
async function hierarchies(): Promise<string[][]> {
  const byId = new Map<string, string[]>();
  for (const line of (await readFile('/proc/cgroups', 'utf8')).split('\n').slice(1)) {
    const [name, id, , enabled] = line.trim().split(/\s+/);
    if (!name || !id || id === '0' || enabled !== '1') continue;
    byId.set(id, [...(byId.get(id) ?? []), name]);
  }
  return [...byId.values()].map((names) => names.sort());
}

/** Controllers of the cgroup v1 hierarchies mounted in this mount namespace. */
async function mountedControllers(): Promise<Set<string>> {
  const mounted = new Set<string>();
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const [, after] = line.split(' - ');
    const [type, , superOptions = ''] = (after ?? '').split(' ');
    if (type === 'cgroup') for (const option of superOptions.split(',')) mounted.add(option);
  }
  return mounted;
}

/**
 * Mounts on the host each cgroup v1 hierarchy the kernel has but nothing here mounts, at
 * /sys/fs/cgroup/<controllers>. Only on a v1 layout (a tmpfs with per-controller mounts); returns
 * what it mounted.
 */
export async function mountMissingCgroupHierarchies(log: (line: string) => void): Promise<string[]> {
  const mounted = await mountedControllers();
  if (!mounted.has('memory')) return []; // cgroup v2 or no v1 layout: nothing of this applies
  const done: string[] = [];
  for (const controllers of await hierarchies()) {
    if (controllers.some((c) => mounted.has(c))) continue;
    const name = controllers.join(',');
    const target = join(CGROUP_ROOT, name);
    await must('mkdir', ['-p', target]);
    const result = await run('mount', ['-t', 'cgroup', '-o', name, 'cgroup', target]);
    if (result.exitCode !== 0) {
      log(`could not mount the cgroup hierarchy ${name} at ${target}: ${result.stderr.trim()}`);
      continue;
    }
    log(`mounted the cgroup hierarchy ${name} at ${target} (a device's systemd created it; Docker needs it mounted to see OOM kills)`);
    done.push(target);
  }
  return done;
}
