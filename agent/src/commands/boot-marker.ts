import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What changes with every boot: the kernel's boot id, and PID 1's start time (in clock ticks
 * after the kernel's boot). On a real host the boot id alone tells a reboot; in a container
 * device (the fleet lab) the kernel is the host's, so the boot id stays and only PID 1's start
 * moves when the container's systemd "reboots".
 */
export async function readBootMarker(procRoot = '/proc'): Promise<string> {
  const [bootId, stat] = await Promise.all([
    readFile(join(procRoot, 'sys/kernel/random/boot_id'), 'utf8'),
    readFile(join(procRoot, '1/stat'), 'utf8'),
  ]);
  return bootMarker(bootId, stat);
}

/** `<boot id>:<PID 1 start time>` from /proc/sys/kernel/random/boot_id and /proc/1/stat. */
export function bootMarker(bootId: string, pid1Stat: string): string {
  // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so
  // the fields are counted after the last ')'. starttime is field 22: the 20th after it.
  const fields = pid1Stat
    .slice(pid1Stat.lastIndexOf(')') + 1)
    .trim()
    .split(/\s+/);
  const start = fields[19];
  if (!start || !/^\d+$/.test(start)) throw new Error('cannot read the start time of PID 1 from /proc/1/stat');
  const id = bootId.trim();
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error('cannot read the boot id from /proc/sys/kernel/random/boot_id');
  return `${id}:${start}`;
}
