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
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { backupTokenKeyId, signBackupToken } from '@xspectre/contracts/backup-token';

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

const fmt = (bps) => `${(bps / MiB).toFixed(1)} MiB/s`;

const dir = await mkdtemp(join(tmpdir(), 'xs-bench-imaging-'));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const kid = backupTokenKeyId(publicKey);
// The backup server in its own process (node backup-server/dist/main.js), as in production it is
// not in the agent's event loop.
const keyFile = join(dir, 'token-key.pem');
await writeFile(keyFile, publicKey.export({ format: 'pem', type: 'spki' }));
const serverMain = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'backup-server', 'dist', 'main.js');
const child = spawn('taskset', ['-c', SERVER_CPUS, process.execPath, serverMain], {
  env: {
    PATH: process.env.PATH,
    HOME: dir,
    BACKUP_STORAGE_DIR: join(dir, 'store'),
    BACKUP_TOKEN_PUBLIC_KEYS: keyFile,
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
  return { token, expiresAt: new Date((iat + 900) * 1000), imagesUrl: `http://127.0.0.1:${server.port}/disk-images/${deviceId}/` };
};

try {
  const disk = join(dir, 'disk.raw');
  console.log(
    `imaging bench: ${SIZE / MiB} MiB disk, zstd -T0 -${LEVEL}, ${CPU_COUNT} CPUs (device ${DEVICE_CPUS}, backup server ${SERVER_CPUS}${SPLIT ? '' : ', shared'}), load ${loadavg()[0].toFixed(2)}`,
  );
  await makeDisk(disk, SIZE);

  const readRate = await rawRead(disk);
  const compressed = join(dir, 'disk.img.zst');
  await zstdTo(disk, '/dev/null'); // warm-up (binary, page cache)
  const zstdSeconds = await zstdTo(disk, '/dev/null');
  const zstdRate = SIZE / zstdSeconds;
  await zstdTo(disk, compressed);
  const compressedBytes = (await stat(compressed)).size;
  const ratio = SIZE / compressedBytes;

  // Upload alone: the compressed file PATCHed in 32 MiB chunks (read ahead of time per chunk, as the pipeline buffers one).
  const uploadDevice = randomUUID();
  const t = await tokens(uploadDevice)('image-append');
  const auth = { deviceId: uploadDevice, token: t.token };
  const created = await exchange('POST', `${t.imagesUrl}uploads`, auth, { json: { imageName: '2026-12-05T010000Z' }, timeoutMs: 60_000 });
  const { uploadId } = JSON.parse(created.text);
  const fh = await open(compressed, 'r');
  let offset = 0;
  let uploadSeconds = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(32 * MiB);
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, offset);
    if (bytesRead === 0) break;
    const t0 = performance.now();
    const answer = await exchange('PATCH', `${t.imagesUrl}uploads/${uploadId}`, auth, {
      headers: { 'content-type': 'application/octet-stream', 'upload-offset': String(offset) },
      body: chunk.subarray(0, bytesRead),
      timeoutMs: 120_000,
    });
    uploadSeconds += (performance.now() - t0) / 1000;
    if (answer.status !== 204) throw new Error(`upload baseline: HTTP ${answer.status}`);
    offset += bytesRead;
  }
  await fh.close();
  const uploadRate = compressedBytes / uploadSeconds;
  const uploadRawRate = uploadRate * ratio;

  const imageDevice = randomUUID();
  const t0 = performance.now();
  const result = await takeImage({
    deviceId: imageDevice,
    imageName: '2026-12-05T030000Z',
    disks: [{ name: 'vda', path: disk, sizeBytes: SIZE, model: 'bench', serial: null }],
    compressionLevel: LEVEL,
    tokens: tokens(imageDevice),
    agentVersion: 'bench',
    hashing: HASHING,
    ...(CHUNK ? { uploadChunkBytes: CHUNK } : {}),
  });
  const imagingSeconds = (performance.now() - t0) / 1000;
  const imagingRate = SIZE / imagingSeconds;
  const bound = Math.min(readRate, zstdRate, uploadRawRate);
  const which = bound === readRate ? 'raw read' : bound === zstdRate ? 'zstd alone' : 'upload';

  console.log(
    `compressed:         ${(compressedBytes / MiB).toFixed(1)} MiB (${ratio.toFixed(2)}:1); image ${result.metadata.compressedBytes === compressedBytes ? 'same size as zstd alone' : `${result.metadata.compressedBytes} bytes`}`,
  );
  console.log(`raw read:           ${fmt(readRate)}`);
  console.log(`zstd -T0 -${LEVEL} alone:   ${fmt(zstdRate)} of raw data (${zstdSeconds.toFixed(2)} s)`);
  console.log(`upload alone:       ${fmt(uploadRate)} compressed = ${fmt(uploadRawRate)} of raw data`);
  console.log(
    `imaging (pipeline): ${fmt(imagingRate)} of raw data (${imagingSeconds.toFixed(2)} s, SHA-256 raw + compressed in ${HASHING}, complete incl.)`,
  );
  console.log(`ratio: ${(imagingRate / bound).toFixed(3)} of min = ${which} (goal ≥ 0.85)`);
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
