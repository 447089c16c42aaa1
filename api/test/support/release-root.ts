import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * globalSetup of the lab lane: a directory for the one release tree that the specs installing
 * the product share (support/release-tree.ts builds it on first use); removed after the run.
 */
export async function setup(): Promise<() => Promise<void>> {
  const root = await mkdtemp(join(tmpdir(), 'xs-release-run-'));
  process.env.TEST_RELEASE_ROOT = root;
  return () => rm(root, { recursive: true, force: true });
}
