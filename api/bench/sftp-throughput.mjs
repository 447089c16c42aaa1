// SFTP throughput of the file manager (issue 14): a 200 MB file uploaded and downloaded through
// the API's streaming routes (PUT/GET devices/:id/files/upload|download: HTTP → API → SSH → root
// sftp-server through sudo on the device), beside OpenSSH's `sftp` on the same link to the same
// device (from the hub's 10.10.0.1, same account, same certificate authority, same sudo'd
// sftp-server). Every transfer's SHA-256 is checked on the far side. Prints MB/s of each and the
// ratio API / sftp. Goal (issue 14): ≥ 0.8×.
//
// A fleet lab (root: network namespaces, Docker) with the API as a process and one device
// container enrolled by bootstrap.sh (its sshd set up for sessions).
//
//   sudo node api/bench/sftp-throughput.mjs [megabytes] [rounds]      (needs `npx tsc -b` first)
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startLab } from '@xspectre/lab';
import { SSH_ACCOUNT } from '@xspectre/contracts';
import { opensshOptions, sessionCredentials } from './ssh-session-credentials.mjs';

const MEGABYTES = Number(process.argv[2] ?? 200);
const ROUNDS = Number(process.argv[3] ?? 2);
const BYTES = MEGABYTES * 1_000_000;
const HUB = '10.10.0.1';
const SFTP_SERVER = 'sudo -n /usr/lib/openssh/sftp-server';

const run = (file, args, options = {}) =>
  new Promise((resolve, reject) =>
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024, ...options }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);
const best = (values) => Math.max(...values);

async function fileSha256(path) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

const work = await mkdtemp(join(tmpdir(), 'xs-sftp-bench-'));
const keyStoreDir = join(work, 'keys');
const lab = await startLab({ containers: true, log: (line) => console.error(`lab: ${line}`) });
try {
  const api = await lab.startApi({ env: { API_KEY_STORE_DIR: keyStoreDir, API_AGENT_HEARTBEAT_SECONDS: '10' } });
  const admin = await api.admin();
  const site = await admin.createSite('Bench');
  const created = await admin.createDevice('sftp-bench-1', site);
  const device = await lab.addContainerDevice({ hostname: 'sftp-bench-1' });
  const boot = await device.bootstrap(created.claimCode);
  if (boot.exitCode !== 0) throw new Error(`bootstrap: ${boot.stdout}\n${boot.stderr}`);
  const overlay = boot.overlayAddress;
  const token = admin.accessToken;
  const files = `${api.url}/devices/${created.id}/files`;
  const deviceSha = async (path) => (await device.exec('sha256sum', [path])).stdout.split(' ')[0];

  const source = join(work, 'source.bin');
  await pipeline(
    Readable.from(
      (function* () {
        for (let left = BYTES; left > 0; left -= 1 << 20) yield randomBytes(Math.min(1 << 20, left));
      })(),
    ),
    createWriteStream(source),
  );
  const sourceSha = await fileSha256(source);

  // The device reports its SSH host key with inventory; the API refuses sessions until it is pinned.
  for (let i = 0; ; i++) {
    const r = await fetch(`${files}/stat?path=/root`, { headers: { authorization: `Bearer ${token}` } });
    if (r.status === 200) break;
    if (i > 120) throw new Error(`the file manager never opened: ${r.status} ${await r.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }

  const apiUpload = async (target) => {
    const started = performance.now();
    const r = await fetch(`${files}/upload?path=${encodeURIComponent(target)}&overwrite=true`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(createReadStream(source, { highWaterMark: 1 << 20 })),
      duplex: 'half',
    });
    const body = await r.json();
    const ms = performance.now() - started;
    if (r.status !== 200) throw new Error(`upload: ${r.status} ${JSON.stringify(body)}`);
    if (body.sha256 !== sourceSha || (await deviceSha(target)) !== sourceSha) throw new Error('upload: checksum differs');
    return ms;
  };
  const apiDownload = async (path) => {
    const out = join(work, 'api-down.bin');
    const started = performance.now();
    const r = await fetch(`${files}/download?path=${encodeURIComponent(path)}`, { headers: { authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`download: ${r.status} ${await r.text()}`);
    await pipeline(Readable.fromWeb(r.body), createWriteStream(out));
    const ms = performance.now() - started;
    if ((await fileSha256(out)) !== sourceSha) throw new Error('download: checksum differs');
    await rm(out);
    return ms;
  };

  const key = await sessionCredentials({
    keyStoreDir,
    deviceId: created.id,
    dir: work,
    keyId: 'xspectre bench sftp-throughput',
    sourceAddress: HUB,
  });
  const sftp = async (batch) => {
    const batchFile = join(work, 'batch');
    await writeFile(batchFile, batch);
    const started = performance.now();
    await run('sftp', ['-q', ...opensshOptions(key, HUB), '-s', SFTP_SERVER, '-b', batchFile, `${SSH_ACCOUNT}@${overlay}`]);
    return performance.now() - started;
  };
  const sftpUpload = async (target) => {
    const ms = await sftp(`put ${source} ${target}\n`);
    if ((await deviceSha(target)) !== sourceSha) throw new Error('sftp put: checksum differs');
    return ms;
  };
  const sftpDownload = async (path) => {
    const out = join(work, 'sftp-down.bin');
    const ms = await sftp(`get ${path} ${out}\n`);
    if ((await fileSha256(out)) !== sourceSha) throw new Error('sftp get: checksum differs');
    await rm(out);
    return ms;
  };

  const results = { apiUp: [], apiDown: [], sftpUp: [], sftpDown: [] };
  for (let round = 0; round < ROUNDS; round++) {
    results.apiUp.push(mbps(BYTES, await apiUpload('/root/bench-api.bin')));
    results.apiDown.push(mbps(BYTES, await apiDownload('/root/bench-api.bin')));
    results.sftpUp.push(mbps(BYTES, await sftpUpload('/root/bench-sftp.bin')));
    results.sftpDown.push(mbps(BYTES, await sftpDownload('/root/bench-sftp.bin')));
  }
  const line = (what, a, s) =>
    `${what}: file manager ${best(a).toFixed(1)} MB/s, OpenSSH sftp ${best(s).toFixed(1)} MB/s, ratio ${(best(a) / best(s)).toFixed(2)}× (best of ${ROUNDS}; all: ${a.map((v) => v.toFixed(1)).join('/')} vs ${s.map((v) => v.toFixed(1)).join('/')})`;
  console.log(`file: ${MEGABYTES} MB random, SHA-256 checked after every transfer; one device container over WireGuard, from ${HUB}`);
  console.log(line('download', results.apiDown, results.sftpDown));
  console.log(line('upload  ', results.apiUp, results.sftpUp));
  const met = best(results.apiDown) / best(results.sftpDown) >= 0.8 && best(results.apiUp) / best(results.sftpUp) >= 0.8;
  console.log(`goal ≥ 0.8× both ways: ${met ? 'met' : 'NOT met'}`);
} finally {
  await lab.teardown();
  await rm(work, { recursive: true, force: true });
}
