// Agent builds for agent.update tests: a served copy of the built executable with its
// build.json, and a second build derived from it (see derivedBuild for why it is a real build).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const BUILT_EXECUTABLE = join(REPO, 'agent/dist/sea/xspectre-agent');

export interface BuildInfo {
  version: string;
  buildId: string;
  sha256: string;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** What the executable itself says: `--version` and `build-id` (an empty environment, as build-sea.mjs checks it). */
export async function describeExecutable(path: string): Promise<{ version: string; buildId: string }> {
  const version = (await exec(path, ['--version'], { env: {} })).stdout.trim();
  const buildId = (await exec(path, ['build-id'], { env: {} })).stdout.trim();
  return { version, buildId };
}

/** Writes `bytes` as `<dir>/xspectre-agent` (0755) with its `xspectre-agent.build.json`, as build-sea.mjs leaves a build. */
export async function writeServedBuild(dir: string, bytes: Buffer, info: Omit<BuildInfo, 'sha256'>): Promise<BuildInfo> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'xspectre-agent'), bytes);
  await chmod(join(dir, 'xspectre-agent'), 0o755);
  const full = { ...info, sha256: sha256(bytes) };
  await writeFile(join(dir, 'xspectre-agent.build.json'), `${JSON.stringify(full)}\n`);
  await writeFile(join(dir, 'xspectre-agent.sha256'), `${full.sha256}  xspectre-agent\n`);
  return full;
}

/** The built executable as the current build of an API dist folder (with bootstrap.sh), described by itself. */
export async function serveBuiltAgent(dist: string): Promise<BuildInfo> {
  const bytes = await readFile(BUILT_EXECUTABLE);
  const info = await writeServedBuild(dist, bytes, await describeExecutable(BUILT_EXECUTABLE));
  await copyFile(join(REPO, 'agent/bootstrap.sh'), join(dist, 'bootstrap.sh'));
  return info;
}

/** The next version of the same length ('0.1.0' → '0.1.1'): the bundle inside keeps its length. */
export function sameLengthVersion(version: string): string {
  const last = version.at(-1)!;
  const next = /[0-9]/.test(last) ? String((Number(last) + 1) % 10) : last === 'z' ? 'a' : String.fromCharCode(last.charCodeAt(0) + 1);
  return `${version.slice(0, -1)}${next}`;
}

/**
 * A second, real build of the agent without a second `npm run build:sea` (which writes
 * agent/dist/sea, shared with other lab runs, and takes minutes). The executable is Node.js plus
 * a SEA blob that holds the bundle (dist/sea/agent.cjs) verbatim; the bundle is what the build id
 * is the SHA-256 of (agent/build-info.mjs). Here the bundle gets another version string of the
 * same length, its build id is stamped again with build-info.mjs's own stampBuildId (so
 * verifyBuildId holds for it, as for any build), and the new bundle replaces the old one in a copy
 * of the executable, byte for byte at the same place. The result runs the same code, reports the
 * new version and the new build id, and is a different file: what an update installs.
 */
export async function derivedBuild(dir: string): Promise<BuildInfo> {
  const info = (await import(pathToFileURL(join(REPO, 'agent/build-info.mjs')).href)) as {
    BUILD_ID_PLACEHOLDER: string;
    stampBuildId: (bundle: string) => { buildId: string; bundle: string };
    verifyBuildId: (bundle: string, buildId: string) => boolean;
  };
  const executable = await readFile(BUILT_EXECUTABLE);
  const bundle = await readFile(join(dirname(BUILT_EXECUTABLE), 'agent.cjs'), 'utf8');
  const { version, buildId } = await describeExecutable(BUILT_EXECUTABLE);
  const at = executable.indexOf(Buffer.from(bundle, 'utf8'));
  if (at < 0 || executable.indexOf(Buffer.from(bundle, 'utf8'), at + 1) >= 0)
    throw new Error('agent/dist/sea/agent.cjs is not in the executable exactly once: rebuild (npm run build:sea -w agent)');
  const versionLiteral = `AGENT_VERSION="${version}"`;
  const idLiteral = `AGENT_BUILD_ID="${buildId}"`;
  if (bundle.split(versionLiteral).length !== 2 || bundle.split(idLiteral).length !== 2)
    throw new Error('the bundle does not carry its version and build id exactly once');
  const nextVersion = sameLengthVersion(version);
  const unstamped = bundle
    .replace(idLiteral, `AGENT_BUILD_ID="${info.BUILD_ID_PLACEHOLDER}"`)
    .replace(versionLiteral, `AGENT_VERSION="${nextVersion}"`);
  const stamped = info.stampBuildId(unstamped);
  if (!info.verifyBuildId(stamped.bundle, stamped.buildId)) throw new Error('the derived bundle does not verify');
  const replacement = Buffer.from(stamped.bundle, 'utf8');
  if (replacement.length !== Buffer.byteLength(bundle)) throw new Error('the derived bundle changed length');
  const derived = Buffer.from(executable);
  replacement.copy(derived, at);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'xspectre-agent'), derived);
  await chmod(join(dir, 'xspectre-agent'), 0o755);
  // The executable itself must say what its build.json says.
  const described = await describeExecutable(join(dir, 'xspectre-agent'));
  if (described.version !== nextVersion || described.buildId !== stamped.buildId)
    throw new Error(`the derived executable reports ${described.version} ${described.buildId}`);
  return writeServedBuild(dir, derived, described);
}

/** A "build" that never comes up: a valid executable that exits at once (its build id is the SHA-256 of its bytes, which no agent ever reports). */
export async function brokenBuild(dir: string): Promise<BuildInfo> {
  const bytes = Buffer.from('#!/bin/sh\nexit 1\n');
  return writeServedBuild(dir, bytes, { version: '0.0.0-broken', buildId: sha256(bytes) });
}
