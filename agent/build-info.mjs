// What agent/build-sea.mjs puts into the executable in place of src/version.ts: the version of
// agent/package.json and a build id. An executable cannot contain its own SHA-256 (writing it in
// changes the hash), so the build id is the SHA-256 of the JavaScript bundle that goes into the
// executable, computed with a placeholder in the id's place and then written there. Anyone can
// check it: put the placeholder back into dist/sea/agent.cjs and hash it (verifyBuildId).
import { createHash } from 'node:crypto';

export const BUILD_ID_PLACEHOLDER = '@@XSPECTRE_AGENT_BUILD_ID@@';

/** esbuild plugin: the agent's compiled version module becomes two constants. */
export function versionModulePlugin(version) {
  return {
    name: 'agent-version-module',
    setup(builder) {
      builder.onLoad({ filter: /[\\/]agent[\\/]dist[\\/]version\.js$/ }, () => ({
        contents: `export const AGENT_VERSION = ${JSON.stringify(version)};\nexport const AGENT_BUILD_ID = ${JSON.stringify(BUILD_ID_PLACEHOLDER)};\n`,
        loader: 'js',
      }));
    },
  };
}

const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The bundle with its build id written in; fails unless the placeholder appears exactly once. */
export function stampBuildId(bundle) {
  const count = bundle.split(BUILD_ID_PLACEHOLDER).length - 1;
  if (count !== 1) throw new Error(`the build id placeholder appears ${count} times in the bundle (expected once)`);
  const buildId = sha256(bundle);
  return { buildId, bundle: bundle.replace(BUILD_ID_PLACEHOLDER, buildId) };
}

/** The build id a stamped bundle carries, if it is the bundle's own. */
export function verifyBuildId(stamped, buildId) {
  return /^[0-9a-f]{64}$/.test(buildId) && stamped.includes(buildId) && sha256(stamped.replace(buildId, BUILD_ID_PLACEHOLDER)) === buildId;
}
