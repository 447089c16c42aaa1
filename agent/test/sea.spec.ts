/**
 * Builds the single executable (`npm run build:sea -w agent`: tsc, esbuild, Node.js 22 SEA blob,
 * postject) and runs it with an empty environment: no Node.js on PATH, nothing inherited.
 * Takes ~15 s with the Node.js binary cached (~/.cache/xspectre/sea-node), longer on a fresh machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a build script in plain JavaScript, without type declarations
import { verifyBuildId } from '../build-info.mjs';

const agentDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(agentDir, '..');
const executable = join(agentDir, 'dist', 'sea', 'xspectre-agent');
const ALLOWED_LIBS = /^(linux-vdso|libc|libm|libpthread|libdl|libstdc\+\+|libgcc_s|ld-linux-x86-64)\.so/;

describe('single executable', () => {
  it('builds, verifies by checksum, and runs without Node.js or any environment', () => {
    execFileSync('npm', ['run', 'build:sea', '-w', 'agent'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'], timeout: 280_000 });

    expect(statSync(executable).mode & 0o777).toBe(0o755);
    const [digest, name] = readFileSync(`${executable}.sha256`, 'utf8').trim().split(/\s+/);
    expect(name).toBe('xspectre-agent');
    expect(digest).toBe(createHash('sha256').update(readFileSync(executable)).digest('hex'));

    const pkg = JSON.parse(readFileSync(join(agentDir, 'package.json'), 'utf8')) as { version: string };
    expect(execFileSync(executable, ['--version'], { env: {}, encoding: 'utf8' })).toBe(`${pkg.version}\n`);
    // The build id it reports (and sends in its inventory) is the SHA-256 of the bundle inside (build-info.mjs).
    const buildId = execFileSync(executable, ['build-id'], { env: {}, encoding: 'utf8' }).trim();
    expect(buildId).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyBuildId(readFileSync(join(agentDir, 'dist', 'sea', 'agent.cjs'), 'utf8'), buildId)).toBe(true);

    // zod and the contract are bundled: a claim code check runs inside the executable.
    const usage = spawnSync(
      executable,
      ['enroll', '--claim', 'nope', '--api', 'http://127.0.0.1:9/api/v1', '--wg-private-key-file', '/nonexistent'],
      {
        env: {},
        encoding: 'utf8',
      },
    );
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('a claim code is 20 letters');

    // Only the C/C++ runtime that every glibc system (Debian bookworm minbase, Alma) has.
    const libs = execFileSync('ldd', [executable], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0] ?? '')
      .map((lib) => lib.replace(/^.*\//, ''));
    expect(libs.filter((lib) => !ALLOWED_LIBS.test(lib))).toEqual([]);
  }, 300_000);
});
