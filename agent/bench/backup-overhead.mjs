// Wrapper overhead of the agent's backups (issue 15, goal ≤ 1.05× wall time): the same
// generated tree backed up, in one process run, (a) by plain `restic backup` with
// RESTIC_REPOSITORY pointing straight at the backup server (a token in the URL), and (b) by the
// agent's own code (dist/backups: runRestic with its RepositoryForwarder on 127.0.0.1, tokens
// fetched over HTTP from a tiny local token source, restic started by processLauncher, the
// child-process launcher backup-action.ts uses where PID 1 is not systemd, and its `--json`
// progress parsed line by line). The systemd launcher (a transient unit) is not measured here.
// Both go to the real backup server (its token-checking front and `rclone serve restic
// --append-only`, started in this process on a plain directory store), each round into a fresh
// repository (a new device id) with a fresh cache. Rounds alternate a b a b … to cancel drift.
// Each side is timed over init + backup, and over the backup step alone. No assertion: it prints.
//
//   npx tsc -b && npm run bench:backup -w agent
//   BENCH_ROUNDS=3 BENCH_FILES=1000 BENCH_MIB=100 npm run bench:backup -w agent
import { execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { backupTokenKeyId, signBackupToken } from '@xspectre/contracts/backup-token';
import { startBackupServer } from '@xspectre/backup-server/app';
import { loadConfig } from '@xspectre/backup-server/config';

const agentDist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'backups');
const { runRestic } = await import(pathToFileURL(join(agentDist, 'restic-runner.js')).href);
const { backupArgs, initArgs } = await import(pathToFileURL(join(agentDist, 'restic-args.js')).href);
const { parseBackupLine } = await import(pathToFileURL(join(agentDist, 'restic-progress.js')).href);
const { processLauncher } = await import(pathToFileURL(join(agentDist, 'restic-launcher.js')).href);
const { ensureRepositoryPassword } = await import(pathToFileURL(join(agentDist, 'repository-password.js')).href);

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const FILES = Number(process.env.BENCH_FILES ?? 3000);
const MIB = Number(process.env.BENCH_MIB ?? 300);
const RESTIC = process.env.RESTIC ?? 'restic';

/** A tree of FILES files, MIB MiB in all: half the bytes random, half compressible text, in nested directories. */
async function generateTree(root) {
  const perFile = Math.floor((MIB * 1024 * 1024) / FILES);
  const line = 'Oct 12 02:00:01 scanner gvmd[812]: md manage: INFO: update of the feed finished, 48213 NVTs\n';
  let bytes = 0;
  let random = 0;
  for (let i = 0; i < FILES; i++) {
    const dir = join(root, `d${i % 25}`, `e${i % 7}`);
    await mkdir(dir, { recursive: true });
    // Sizes vary from a quarter to 1.75 times the mean, so the tree has small and large files.
    const size = Math.max(1, Math.floor(perFile * (0.25 + (1.5 * ((i * 7919) % 1000)) / 1000)));
    let body;
    if (i % 2 === 0) {
      body = randomBytes(size);
      random += size;
    } else {
      body = Buffer.from(`${i} `.concat(line.repeat(Math.ceil(size / line.length))).slice(0, size));
    }
    await writeFile(join(dir, `f${i}.${i % 2 === 0 ? 'bin' : 'log'}`), body);
    bytes += size;
  }
  return { bytes, random };
}

/** The API's part: a local HTTP token source that signs short-lived tokens as the API does. */
async function startTokenSource(privateKey, kid) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const iat = Math.floor(Date.now() / 1000);
    const token = signBackupToken(privateKey, kid, {
      iss: 'xspectre-api',
      aud: 'xspectre-backup',
      sub: url.searchParams.get('device'),
      op: url.searchParams.get('op'),
      iat,
      exp: iat + 600,
      jti: randomBytes(9).toString('base64url'),
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expiresAt: new Date((iat + 600) * 1000) }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const fetchToken = async (device, op) => {
    const answer = await fetch(`${base}/token?device=${device}&op=${op}`);
    const body = await answer.json();
    return { token: body.token, expiresAt: new Date(body.expiresAt) };
  };
  return { fetchToken, stop: () => new Promise((resolve) => server.close(resolve)) };
}

function runPlain(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(RESTIC, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-4096)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`restic ${args[0]} exited ${code}: ${stderr.trim()}`))));
  });
}

const median = (values) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

const dir = await mkdtemp(join(tmpdir(), 'xs-bench-backup-'));
let server;
let tokens;
try {
  const load = loadavg();
  const tree = join(dir, 'tree');
  const { bytes, random } = await generateTree(tree);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = backupTokenKeyId(publicKey);
  server = await startBackupServer(
    loadConfig({ BACKUP_STORAGE_DIR: join(dir, 'store'), BACKUP_TOKEN_PUBLIC_KEYS: join(dir, 'unused.pem'), BACKUP_LISTEN_PORT: '0' }),
    {
      publicKeys: [{ keyId: kid, publicKey }],
      log: { log: () => undefined },
      sink: { send: async () => undefined },
      startMaintenance: false,
    },
  );
  tokens = await startTokenSource(privateKey, kid);
  const passwordFile = join(dir, 'password');
  await ensureRepositoryPassword(passwordFile);
  const { stdout: version } = await promisify(execFile)(RESTIC, ['version']);

  console.log(
    `tree: ${FILES} files, ${(bytes / 1048576).toFixed(1)} MiB (${(random / 1048576).toFixed(1)} MiB random, the rest compressible text)`,
  );
  console.log(`${version.trim()}; repository: backup server front + rclone serve restic on 127.0.0.1, directory store`);
  console.log(`load average at start: ${load.map((value) => value.toFixed(2)).join(' ')}; ${ROUNDS} rounds, a b a b …`);

  const times = { a: { total: [], backup: [], cpu: [] }, b: { total: [], backup: [], cpu: [] } };
  // This process's CPU (user + system) over a round: the backup server's front runs here in
  // both, the forwarder and the progress parsing only in (b); the difference is the wrapper's
  // own CPU, which load on the machine does not blur the way it blurs wall times.
  const cpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };

  const plain = async (round) => {
    const deviceId = randomUUID();
    const cacheDir = join(dir, `cache-a${round}`);
    const started = performance.now();
    const cpu = cpuMs();
    // Same token lifetime as the agent's; one token covers the round (it lasts 10 minutes).
    const { token } = await tokens.fetchToken(deviceId, 'append');
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: process.env.HOME ?? '/root',
      LC_ALL: 'C',
      RESTIC_REPOSITORY: `rest:http://${deviceId}:${token}@127.0.0.1:${server.port}/${deviceId}/`,
      RESTIC_PASSWORD_FILE: passwordFile,
      RESTIC_CACHE_DIR: cacheDir,
    };
    await runPlain(initArgs({ cacheDir }), env);
    const backupStarted = performance.now();
    await runPlain(backupArgs({ cacheDir }, { paths: [tree], excludes: [], host: deviceId, tags: ['bench'] }), env);
    const ended = performance.now();
    times.a.cpu.push(cpuMs() - cpu);
    times.a.total.push(ended - started);
    times.a.backup.push(ended - backupStarted);
  };

  const agent = async (round) => {
    const deviceId = randomUUID();
    const cacheDir = join(dir, `cache-b${round}`);
    const options = {
      restic: RESTIC,
      deviceId,
      repositoryUrl: `http://127.0.0.1:${server.port}/${deviceId}/`,
      passwordFile,
      cacheDir,
      fetchToken: (op) => tokens.fetchToken(deviceId, op),
      launcher: processLauncher(RESTIC),
    };
    const started = performance.now();
    const cpu = cpuMs();
    const init = await runRestic(options, 'append', initArgs({ cacheDir }));
    if (init.code !== 0) throw new Error(`agent init exited ${init.code}: ${init.stderrTail.trim()}`);
    const backupStarted = performance.now();
    let summary = null;
    let progressLines = 0;
    const backup = await runRestic(
      options,
      'append',
      backupArgs({ cacheDir }, { paths: [tree], excludes: [], host: deviceId, tags: ['bench'] }),
      (line) => {
        const progress = parseBackupLine(line);
        if (!progress) return;
        progressLines += 1;
        if (progress.type === 'summary') summary = progress;
      },
    );
    const ended = performance.now();
    if (backup.code !== 0 || !summary) throw new Error(`agent backup exited ${backup.code}: ${backup.stderrTail.trim()}`);
    if (round === 0) console.log(`agent: ${progressLines} progress lines parsed in round 1, snapshot ${summary.snapshotId.slice(0, 8)}`);
    times.b.cpu.push(cpuMs() - cpu);
    times.b.total.push(ended - started);
    times.b.backup.push(ended - backupStarted);
  };

  for (let round = 0; round < ROUNDS; round++) {
    await plain(round);
    await agent(round);
    console.log(
      `round ${round + 1}: plain ${seconds(times.a.total.at(-1))} (backup ${seconds(times.a.backup.at(-1))}), agent ${seconds(times.b.total.at(-1))} (backup ${seconds(times.b.backup.at(-1))})`,
    );
  }

  for (const [label, key] of [
    ['init + backup', 'total'],
    ['backup step', 'backup'],
  ]) {
    const a = median(times.a[key]);
    const b = median(times.b[key]);
    const ratio = b / a;
    console.log(
      `${label}: median plain ${seconds(a)}, agent ${seconds(b)}, ratio ${ratio.toFixed(3)}× (goal ≤ 1.05×: ${ratio <= 1.05 ? 'met' : 'NOT met'})`,
    );
  }
  const extraCpu = median(times.b.cpu) - median(times.a.cpu);
  console.log(
    `this process's CPU per round (the front; in (b) also the forwarder and parsing): median plain ${seconds(median(times.a.cpu))}, agent ${seconds(median(times.b.cpu))}; the wrapper's own ${seconds(extraCpu)}, ${((100 * extraCpu) / median(times.a.total)).toFixed(1)} % of plain's init + backup wall time`,
  );
  console.log(
    `load average at end: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await tokens?.stop();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
}
