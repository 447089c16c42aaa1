// The agent as the lab runs it: `node agent/dist/main.js` for light devices, the single
// executable (agent/dist/sea/xspectre-agent, served by the API to bootstrap.sh) for containers.
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';
import { REPO_ROOT } from './names.js';

export const AGENT_MAIN = join(REPO_ROOT, 'agent/dist/main.js');
export const AGENT_SEA = join(REPO_ROOT, 'agent/dist/sea/xspectre-agent');
export const BOOTSTRAP_SH = join(REPO_ROOT, 'agent/bootstrap.sh');
/** The Node.js flags built into the executable (its SEA execArgv): light devices run main.js with them too. */
export const AGENT_NODE_FLAGS: readonly string[] = JSON.parse(readFileSync(join(REPO_ROOT, 'agent/node-flags.json'), 'utf8')) as string[];

async function mtime(path: string): Promise<number | null> {
  return stat(path).then(
    (s) => s.mtimeMs,
    () => null,
  );
}

/** Builds the agent executable (`npm run build:sea -w agent`) when it is missing or older than agent/dist (or the contracts and wireguard it bundles). */
export async function ensureAgentExecutable(log: (line: string) => void): Promise<void> {
  const built = await mtime(AGENT_SEA);
  const dist = join(REPO_ROOT, 'agent/dist');
  // Every compiled module counts (collectors/ and the like), not the executable's own folder.
  let newest = 0;
  const entries = await readdir(dist, { recursive: true }).catch(() => [] as string[]);
  for (const entry of entries) {
    if (entry.endsWith('.js') && !entry.startsWith('sea/')) newest = Math.max(newest, (await mtime(join(dist, entry))) ?? 0);
  }
  if (newest === 0) throw new Error(`${AGENT_MAIN} is missing: build first (npx tsc -b)`);
  // The executable bundles the packages the agent imports too (a changed contract changes it).
  for (const pkg of ['contracts/dist', 'wireguard/dist']) {
    const dir = join(REPO_ROOT, pkg);
    for (const entry of await readdir(dir, { recursive: true }).catch(() => [] as string[]))
      if (entry.endsWith('.js')) newest = Math.max(newest, (await mtime(join(dir, entry))) ?? 0);
  }
  if (built !== null && built >= newest) return;
  log(
    built === null ? 'building the agent executable (npm run build:sea -w agent)' : 'agent/dist changed: rebuilding the agent executable',
  );
  const result = await run('npm', ['run', 'build:sea', '-w', 'agent'], { cwd: REPO_ROOT, timeoutMs: 15 * 60_000 });
  if (result.exitCode !== 0)
    throw new Error(
      `npm run build:sea -w agent failed (exit ${result.exitCode}): ${`${result.stdout}\n${result.stderr}`.trim().slice(-3000)}`,
    );
}
