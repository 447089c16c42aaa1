/**
 * The version and build id the executable carries (agent/build-info.mjs): the version comes from
 * agent/package.json at build time, the build id is the SHA-256 of the bundle that goes in.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error a build script in plain JavaScript, without type declarations
import { BUILD_ID_PLACEHOLDER, stampBuildId, verifyBuildId, versionModulePlugin } from '../build-info.mjs';
import { AGENT_BUILD_ID, AGENT_VERSION } from '../src/version.js';
import { buildAgent } from './built-agent.js';

const agentDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles the compiled version module as build-sea.mjs does, with `version` as the package's. */
async function bundleVersion(version: string): Promise<string> {
  const out = await build({
    stdin: { contents: `export * from ${JSON.stringify(join(agentDir, 'dist', 'version.js'))};`, resolveDir: agentDir, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
    plugins: [versionModulePlugin(version)],
  });
  return out.outputFiles[0]!.text;
}

describe('agent version and build id', () => {
  beforeAll(() => buildAgent());

  it("is agent/package.json's version, and no build id outside a built executable", () => {
    const pkg = JSON.parse(readFileSync(join(agentDir, 'package.json'), 'utf8')) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
    expect(AGENT_BUILD_ID).toBeNull();
  });

  it('the bundle carries the version it is built with (no constant in the code) and its own SHA-256', async () => {
    const bundle = await bundleVersion('9.8.7-test');
    expect(bundle).toContain('"9.8.7-test"');
    expect(bundle).not.toContain('package.json');
    const { buildId, bundle: stamped } = stampBuildId(bundle) as { buildId: string; bundle: string };
    expect(buildId).toMatch(/^[0-9a-f]{64}$/);
    expect(stamped).toContain(`"${buildId}"`);
    expect(stamped).not.toContain(BUILD_ID_PLACEHOLDER);
    expect(verifyBuildId(stamped, buildId)).toBe(true);
    // Any other bundle gets another id, and a forged id does not verify.
    const other = stampBuildId(await bundleVersion('9.8.8-test')) as { buildId: string; bundle: string };
    expect(other.buildId).not.toBe(buildId);
    expect(verifyBuildId(stamped, other.buildId)).toBe(false);
    expect(() => stampBuildId(`${bundle}${BUILD_ID_PLACEHOLDER}`)).toThrow(/appears 2 times/);
  });
});
