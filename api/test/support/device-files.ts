import type { LabDevice } from '@xspectre/lab';

/** Runs in the device; throws with stderr on a non-zero exit. Argument arrays only. */
export async function mustRun(device: LabDevice, file: string, args: string[], input?: string): Promise<string> {
  const r = await device.exec(file, args, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
  if (r.exitCode !== 0) throw new Error(`${device.name}: ${file} ${args.join(' ')}: exit ${r.exitCode} ${r.stderr.trim()}`);
  return r.stdout;
}

/** One file of a test tree: text content, or `randomKiB` KiB from /dev/urandom (written with dd). */
export type TreeFile = { path: string; mode?: string } & ({ text: string } | { randomKiB: number });

/** Writes files into the device (parents made as needed; `tee` gets the path as an argument, never a shell string). */
export async function writeTree(device: LabDevice, files: readonly TreeFile[]): Promise<void> {
  for (const file of files) {
    await mustRun(device, 'mkdir', ['-p', file.path.slice(0, file.path.lastIndexOf('/')) || '/']);
    if ('text' in file) await mustRun(device, 'tee', [file.path], file.text);
    else await mustRun(device, 'dd', ['if=/dev/urandom', `of=${file.path}`, 'bs=1024', `count=${file.randomKiB}`, 'status=none']);
    if (file.mode) await mustRun(device, 'chmod', [file.mode, file.path]);
  }
}

/** SHA-256 of every regular file below `roots`, by path (`sha256sum` in the device). Missing roots give no entries. */
export async function sha256Tree(device: LabDevice, roots: readonly string[]): Promise<Map<string, string>> {
  const existing: string[] = [];
  for (const root of roots) if ((await device.exec('test', ['-e', root])).exitCode === 0) existing.push(root);
  const sums = new Map<string, string>();
  if (existing.length === 0) return sums;
  const out = await mustRun(device, 'find', [...existing, '-type', 'f', '-exec', 'sha256sum', '--', '{}', '+']);
  for (const line of out.split('\n')) {
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (match) sums.set(match[2]!, match[1]!);
  }
  return sums;
}

/** `sums` with `prefix` put before every path (a restore to an alternate directory keeps the absolute layout below it). */
export function underPrefix(sums: ReadonlyMap<string, string>, prefix: string): Map<string, string> {
  return new Map([...sums].map(([path, sum]) => [`${prefix}${path}`, sum]));
}

/** Sorted entries, so a mismatch shows as a readable diff. */
export const sorted = (sums: ReadonlyMap<string, string>) => [...sums].sort(([a], [b]) => a.localeCompare(b));
