/**
 * restic's command lines, as argument arrays (never a shell string). The repository and the
 * password travel in restic's environment (RESTIC_REPOSITORY with the forwarder's one-run
 * credential, RESTIC_PASSWORD_FILE: restic-runner.ts), never on the command line, which every
 * user of the device can read in /proc; the environment of a root process only root can.
 */
export interface ResticRepository {
  cacheDir: string;
}

const common = (repo: ResticRepository) => ['--cache-dir', repo.cacheDir];

export function initArgs(repo: ResticRepository): string[] {
  return ['init', ...common(repo)];
}

/** `--` before the paths: a path can never be read as an option (the contract also forbids it). */
export function backupArgs(
  repo: ResticRepository,
  input: { paths: readonly string[]; excludes: readonly string[]; host: string; tags: readonly string[] },
): string[] {
  return [
    'backup',
    '--json',
    ...common(repo),
    '--host',
    input.host,
    ...input.tags.flatMap((tag) => ['--tag', tag]),
    ...input.excludes.flatMap((pattern) => ['--exclude', pattern]),
    '--',
    ...input.paths,
  ];
}

export function forgetArgs(repo: ResticRepository, input: { host: string; keepDaily: number; keepWeekly: number }): string[] {
  return [
    'forget',
    '--json',
    ...common(repo),
    '--host',
    input.host,
    '--keep-daily',
    String(input.keepDaily),
    '--keep-weekly',
    String(input.keepWeekly),
    '--prune',
  ];
}

/** A weekly check that also reads a tenth of the data back: corruption shows within ten weeks at the latest. */
export function checkArgs(repo: ResticRepository, subset = '1/10'): string[] {
  return ['check', ...common(repo), '--read-data-subset', subset];
}

export function snapshotsArgs(repo: ResticRepository, host: string): string[] {
  return ['snapshots', '--json', ...common(repo), '--host', host];
}

/** Restores chosen paths of a snapshot under `target` (`/` for the original place). */
export function restoreArgs(repo: ResticRepository, input: { snapshotId: string; target: string; include: readonly string[] }): string[] {
  if (!/^[0-9a-f]{8,64}$/.test(input.snapshotId)) throw new Error(`not a snapshot id: ${input.snapshotId.slice(0, 80)}`);
  return ['restore', input.snapshotId, ...common(repo), '--target', input.target, ...input.include.flatMap((path) => ['--include', path])];
}
