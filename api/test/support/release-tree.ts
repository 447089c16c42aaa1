import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

const REPO = new URL('../../../', import.meta.url).pathname;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The release tree (infra/release/build.sh --no-build over the repository's build) that
 * lab-deploy and lab-compose install: built once per lab run, in the lane's TEST_RELEASE_ROOT
 * (support/release-root.ts), since a build takes minutes. XSPECTRE_RELEASE_DIR names a ready one.
 */
export async function sharedReleaseTree(log: (line: string) => void): Promise<string> {
  if (process.env.XSPECTRE_RELEASE_DIR) return process.env.XSPECTRE_RELEASE_DIR;
  const root = process.env.TEST_RELEASE_ROOT;
  if (!root) throw new Error('TEST_RELEASE_ROOT is unset: run this spec in the lab lane (vitest --project lab)');
  const tree = join(root, 'tree');
  const complete = join(root, 'complete');
  if (await exists(complete)) return tree;
  // The lab lane runs after `npm run build`; the console's next build and the agent's executable only when missing.
  if (!(await exists(join(REPO, 'console/.next/BUILD_ID')))) {
    await execa('npm', ['run', 'build', '-w', 'console'], { cwd: REPO, stdio: 'inherit' });
  }
  if (!(await exists(join(REPO, 'agent/dist/sea/xspectre-agent.build.json')))) {
    await execa('npm', ['run', 'build:sea', '-w', 'agent'], { cwd: REPO, stdio: 'inherit' });
  }
  log('building the release tree (infra/release/build.sh --no-build)');
  const built = await execa('bash', [join(REPO, 'infra/release/build.sh'), '--no-build', '--out', tree], {
    cwd: REPO,
    reject: false,
    all: true,
    timeout: 15 * 60_000,
  });
  if (built.exitCode !== 0) throw new Error(`infra/release/build.sh failed (exit ${built.exitCode}):\n${built.all?.slice(-3000)}`);
  log(built.all?.split('\n').slice(-2).join('\n') ?? '');
  await writeFile(complete, '');
  return tree;
}
