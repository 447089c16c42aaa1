import { readFileSync } from 'node:fs';

// The version of agent/package.json, and the build id of the single executable.
// `node dist/main.js` (and the tests) read the package file next to dist/ or src/; the
// executable has no package file, so agent/build-sea.mjs replaces this whole module in its
// bundle with constants (see agent/build-info.mjs): this file's import.meta never reaches it.

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('agent/package.json has no version');
  return pkg.version;
}

/** The agent's version, sent in every message: agent/package.json's `version`. */
export const AGENT_VERSION: string = packageVersion();

/** SHA-256 of the bundle built into the executable; null when not run from a built executable. */
export const AGENT_BUILD_ID: string | null = null;
