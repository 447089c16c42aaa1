// Imaging throughput of the recovery agent (issue 16, goal ≥ 0.85×): a disk file with realistic
// content (per MiB: free space, text, incompressible data) imaged by the agent's own pipeline
// (dist/recovery/imaging.js: 4 MiB reads, SHA-256 in worker threads → `zstd -T0 -3` → 8 MiB chunks PATCHed with
// the disk-image protocol) to the real backup server on loopback, compared in the same process
// run with its three possible bottlenecks, each measured alone on the same data:
//   raw read    — the file read sequentially in 4 MiB blocks (no hashing),
//   zstd alone  — `zstd -T0 -3 -c disk > /dev/null`,
//   upload      — the compressed image PATCHed in 32 MiB chunks to the same server process (as raw
//                 bytes per second: compressed rate × raw/compressed).
// ratio = imaging rate / min(the three). Reads come from the page cache (the file was just
// written; the bench does not drop caches on a shared machine): on a real disk the read is
// slower and the ratio only easier. No assertion: it prints.
//
//   npx tsc -b && node agent/bench/imaging.mjs            (1 GiB)
//   node agent/bench/imaging.mjs --size 4G               (the issue's figure)
//   options: --shared (device and server on every CPU; default: split, see SPLIT below),
//            --hashing worker|sha256sum|inline (where the pipeline's SHA-256s run), --chunk 8M
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { backupTokenKeyId, signBackupToken } from '@xspectre/contracts/backup-token';
import { startTunnelPair, tunnelUnavailable } from './tunnel-pair.mjs';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'recovery');
const { takeImage } = await import(pathToFileURL(join(dist, 'imaging.js')).href);
const { exchange } = await import(pathToFileURL(join(dist, 'image-http.js')).href);

const MiB = 1024 * 1024;
function parseSize(text) {
  const m = /^(\d+)([MG]?)$/i.exec(text);
  if (!m) throw new Error(`--size ${text}: use e.g. 512M, 1G, 4G`);
  return Number(m[1]) * (m[2].toUpperCase() === 'G' ? 1024 * MiB : MiB);
}
const sizeArg = process.argv.indexOf('--size');
const SIZE = parseSize(sizeArg > 0 ? process.argv[sizeArg + 1] : '1G');
const LEVEL = 3;
const chunkArg = process.argv.indexOf('--chunk');
const CHUNK = chunkArg > 0 ? parseSize(process.argv[chunkArg + 1]) : undefined;
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 20) throw new Error('--rounds: 1 to 20');
const LOOPBACK = process.argv.includes('--loopback');
if (!LOOPBACK) {
  const why = tunnelUnavailable();
  if (why) throw new Error(`the tunnel cannot be built here: ${why}; run with --loopback for the upload over loopback only`);
}
const hashingArg = process.argv.indexOf('--hashing');
/** worker (the agent's default), sha256sum or inline: where the pipeline's SHA-256s run (src/recovery/stream-hash.ts). */
const HASHING = hashingArg > 0 ? process.argv[hashingArg + 1] : 'worker';
if (!['worker', 'sha256sum', 'inline'].includes(HASHING)) throw new Error(`--hashing ${HASHING}: worker, sha256sum or inline`);
// The backup server runs on another host in production. With --split (the default on 2+ CPUs) the
// last CPU is the server's and the others the device's (this process, its threads and the zstd
// children inherit the affinity), for the baselines and the pipeline alike; --shared runs both on
// every CPU, where the pipeline's agent side and the server compete for the same cores.
const CPU_COUNT = cpus().length;
const SPLIT = !process.argv.includes('--shared') && CPU_COUNT >= 2;
const DEVICE_CPUS = SPLIT ? `0-${CPU_COUNT - 2}` : `0-${CPU_COUNT - 1}`;
const SERVER_CPUS = SPLIT ? String(CPU_COUNT - 1) : DEVICE_CPUS;
if (SPLIT) execFileSync('taskset', ['-a', '-p', '-c', DEVICE_CPUS, String(process.pid)], { stdio: 'ignore' });

async function makeDisk(path, size) {
  const fh = await open(path, 'w');
  const text = Buffer.from(
    Array.from(
      { length: 4096 },
      (_, i) =>
        `Dec  5 03:00:${String(i % 60).padStart(2, '0')} scanner gvmd[${1000 + (i % 97)}]: task ${i * 7919} done, hosts=${i % 255}\n`,
    ).join(''),
  );
  for (let at = 0, i = 0; at < size; at += MiB, i++) {
    const kind = i % 8;
    const block =
      kind === 0 || kind === 5
        ? Buffer.alloc(MiB)
        : kind === 1 || kind === 3 || kind === 6
          ? Buffer.alloc(MiB, text.subarray(i % 1000))
          : randomBytes(MiB);
    await fh.write(block, 0, MiB, at);
  }
  await fh.close();
}

async function rawRead(path) {
  const fh = await open(path, 'r');
  const buf = Buffer.allocUnsafe(4 * MiB);
  let pos = 0;
  const t0 = performance.now();
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
  }
  await fh.close();
  return pos / ((performance.now() - t0) / 1000);
}

function zstdTo(path, outPath) {
  return new Promise((resolve, reject) => {
    const out = openSync(outPath, 'w');
    const t0 = performance.now();
    const child = spawn('zstd', ['-T0', `-${LEVEL}`, '-q', '-c', path], { stdio: ['ignore', out, 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => {
      closeSync(out);
      if (code !== 0) reject(new Error(`zstd exit ${code}`));
      else resolve((performance.now() - t0) / 1000);
    });
  });
}

// Each measurement starts with no dirty pages: gigabytes the bench just wrote (the disk file, the
// compressed copy, the baseline's upload) would otherwise be flushed during the next measurement
// and throttle the backup server's writes (balance_dirty_pages), for the baseline and the
// pipeline unequally.
const settle = () => execFileSync('sync', [], { stdio: 'ignore' });

/** CPU seconds (user + system, all threads) the backup server process has used so far. */
const serverCpu = () => {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** Busy and total jiffies of the device's CPUs (/proc/stat), to say whether the pipeline waited or computed. */
const deviceCpuTicks = () => {
  const wanted = new Set(SPLIT ? Array.from({ length: CPU_COUNT - 1 }, (_, i) => `cpu${i}`) : ['cpu']);
  let busy = 0;
  let total = 0;
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const [name, ...values] = line.split(/\s+/);
    if (!wanted.has(name)) continue;
    const n = values.filter(Boolean).map(Number);
    const all = n.slice(0, 8).reduce((a, b) => a + b, 0);
    busy += all - n[3] - n[4]; // minus idle and iowait
    total += all;
  }
  return { busy, total };
};

const fmt = (bps) => `${(bps / MiB).toFixed(1)} MiB/s`;

const dir = await mkdtemp(join(tmpdir(), 'xs-bench-imaging-'));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const kid = backupTokenKeyId(publicKey);
// The backup server in its own process (node backup-server/dist/main.js), as in production it is
// not in the agent's event loop.
const keyFile = join(dir, 'token-key.pem');
await writeFile(keyFile, publicKey.export({ format: 'pem', type: 'spki' }));
const serverMain = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'backup-server', 'dist', 'main.js');
// Through a real WireGuard tunnel (./tunnel-pair.mjs) unless --loopback: the server then runs in
// the tunnel's other namespace and listens on its overlay address.
const tunnel = LOOPBACK ? undefined : await startTunnelPair({ deviceCpus: DEVICE_CPUS, serverCpus: SERVER_CPUS });
const cleanUpOnSignal = () => void tunnel?.stop().finally(() => process.exit(130));
process.once('SIGINT', cleanUpOnSignal);
process.once('SIGTERM', cleanUpOnSignal);
const serverHost = tunnel ? tunnel.serverAddress : '127.0.0.1';
const serverCommand = ['taskset', '-c', SERVER_CPUS, process.execPath, serverMain];
const child = spawn(tunnel ? 'ip' : serverCommand[0], tunnel ? ['netns', 'exec', tunnel.netns, ...serverCommand] : serverCommand.slice(1), {
  env: {
    PATH: process.env.PATH,
    HOME: dir,
    BACKUP_STORAGE_DIR: join(dir, 'store'),
    BACKUP_TOKEN_PUBLIC_KEYS: keyFile,
    BACKUP_LISTEN_HOST: serverHost,
    BACKUP_LISTEN_PORT: '0',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const server = {
  port: await new Promise((resolve, reject) => {
    let out = '';
    child.on('exit', (code) => reject(new Error(`the backup server exited (${code}): ${out.slice(-2000)}`)));
    child.stdout.on('data', (c) => {
      out += c.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line);
        if (entry.msg === 'backup server listening') resolve(entry.port);
      }
    });
  }),
  stop: () =>
    new Promise((resolve) => {
      child.once('close', resolve);
      child.kill('SIGTERM');
    }),
};
child.stdout.resume();
const tokens = (deviceId) => async (op) => {
  const iat = Math.floor(Date.now() / 1000);
  const token = signBackupToken(privateKey, kid, {
    iss: 'xspectre-api',
    aud: 'xspectre-backup',
    sub: deviceId,
    op,
    iat,
    exp: iat + 900,
    jti: randomBytes(9).toString('base64url'),
  });
  return { token, expiresAt: new Date((iat + 900) * 1000), imagesUrl: `http://${serverHost}:${server.port}/disk-images/${deviceId}/` };
};

try {
  const disk = join(dir, 'disk.raw');
  console.log(
    `imaging bench: ${SIZE / MiB} MiB disk, zstd -T0 -${LEVEL}, ${CPU_COUNT} CPUs (device ${DEVICE_CPUS}, backup server ${SERVER_CPUS}${SPLIT ? '' : ', shared'}), ${tunnel ? `WireGuard tunnel (wireguard-go) to ${serverHost}` : 'loopback'}, load ${loadavg()[0].toFixed(2)}`,
  );
  await makeDisk(disk, SIZE);
  settle();

  const compressed = join(dir, 'disk.img.zst');
  await zstdTo(disk, '/dev/null'); // warm-up (binary, page cache)
  await zstdTo(disk, compressed);
  const compressedBytes = (await stat(compressed)).size;
  settle();
  const ratio = SIZE / compressedBytes;

  // Upload alone: the compressed file PATCHed in 32 MiB chunks (each read before its PATCH starts, as the pipeline buffers one).
  const chunk = Buffer.allocUnsafe(32 * MiB); // reused, as the pipeline reuses its chunks
  async function uploadAlone(round) {
    const uploadDevice = randomUUID();
    const t = await tokens(uploadDevice)('image-append');
    const auth = { deviceId: uploadDevice, token: t.token };
    const created = await exchange('POST', `${t.imagesUrl}uploads`, auth, {
      json: { imageName: `2026-12-05T01000${round}Z` },
      timeoutMs: 60_000,
    });
    const { uploadId } = JSON.parse(created.text);
    const fh = await open(compressed, 'r');
    const cpu0 = serverCpu();
    let offset = 0;
    let seconds = 0;
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, offset);
      if (bytesRead === 0) break;
      const t0 = performance.now();
      const answer = await exchange('PATCH', `${t.imagesUrl}uploads/${uploadId}`, auth, {
        headers: { 'content-type': 'application/octet-stream', 'upload-offset': String(offset) },
        body: chunk.subarray(0, bytesRead),
        timeoutMs: 120_000,
      });
      seconds += (performance.now() - t0) / 1000;
      if (answer.status !== 204) throw new Error(`upload baseline: HTTP ${answer.status}`);
      offset += bytesRead;
    }
    await fh.close();
    return { rawRate: (compressedBytes / seconds) * ratio, rate: compressedBytes / seconds, serverCpu: serverCpu() - cpu0 };
  }

  async function imageOnce(round) {
    const imageDevice = randomUUID();
    const cpu0 = serverCpu();
    const ticks0 = deviceCpuTicks();
    const t0 = performance.now();
    const result = await takeImage({
      deviceId: imageDevice,
      imageName: `2026-12-05T03000${round}Z`,
      disks: [{ name: 'vda', path: disk, sizeBytes: SIZE, model: 'bench', serial: null }],
      compressionLevel: LEVEL,
      tokens: tokens(imageDevice),
      agentVersion: 'bench',
      hashing: HASHING,
      ...(CHUNK ? { uploadChunkBytes: CHUNK } : {}),
    });
    const seconds = (performance.now() - t0) / 1000;
    const ticks1 = deviceCpuTicks();
    return {
      rate: SIZE / seconds,
      seconds,
      compressedBytes: result.metadata.compressedBytes,
      serverCpu: serverCpu() - cpu0,
      deviceBusy: (ticks1.busy - ticks0.busy) / Math.max(1, ticks1.total - ticks0.total),
    };
  }

  // Rounds of all four, interleaved, so a noisy moment on a shared machine falls on one round's
  // figures, not on one side of the ratio; the ratio is of the medians.
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const read = await rawRead(disk);
    const zstd = SIZE / (await zstdTo(disk, '/dev/null'));
    settle();
    const upload = await uploadAlone(round);
    settle();
    const imaging = await imageOnce(round);
    settle();
    rounds.push({ read, zstd, upload, imaging });
    const bound = Math.min(read, zstd, upload.rawRate);
    console.log(
      `round ${round + 1}: raw read ${fmt(read)}, zstd alone ${fmt(zstd)}, upload alone ${fmt(upload.rawRate)} (server CPU ${upload.serverCpu.toFixed(1)} s), imaging ${fmt(imaging.rate)} (device CPU ${(imaging.deviceBusy * 100).toFixed(0)} % busy, server CPU ${imaging.serverCpu.toFixed(1)} s): ${(imaging.rate / bound).toFixed(3)}`,
    );
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const readRate = median(rounds.map((r) => r.read));
  const zstdRate = median(rounds.map((r) => r.zstd));
  const uploadRawRate = median(rounds.map((r) => r.upload.rawRate));
  const uploadRate = median(rounds.map((r) => r.upload.rate));
  const imagingRate = median(rounds.map((r) => r.imaging.rate));
  const imageBytes = rounds[0].imaging.compressedBytes;
  const bound = Math.min(readRate, zstdRate, uploadRawRate);
  const which = bound === readRate ? 'raw read' : bound === zstdRate ? 'zstd alone' : 'upload';

  console.log(`medians of ${ROUNDS} rounds:`);
  console.log(
    `compressed:         ${(compressedBytes / MiB).toFixed(1)} MiB (${ratio.toFixed(2)}:1); the pipeline's image ${(imageBytes / MiB).toFixed(1)} MiB`,
  );
  console.log(`raw read:           ${fmt(readRate)}`);
  console.log(`zstd -T0 -${LEVEL} alone:   ${fmt(zstdRate)} of raw data`);
  console.log(`upload alone:       ${fmt(uploadRate)} compressed = ${fmt(uploadRawRate)} of raw data`);
  console.log(`imaging (pipeline): ${fmt(imagingRate)} of raw data (SHA-256 raw + compressed in ${HASHING}, complete incl.)`);
  console.log(`ratio: ${(imagingRate / bound).toFixed(3)} of min = ${which} (goal ≥ 0.85)`);
} finally {
  await server.stop();
  await tunnel?.stop();
  await rm(dir, { recursive: true, force: true });
}
