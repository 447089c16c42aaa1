// Keystroke round trip of the browser terminal's server side (issue 14): one byte written to the
// terminal WebSocket (the API's TERMINAL_WS_PATH) → API → SSH over WireGuard → `cat` on a raw PTY
// on the device → back the same way, beside OpenSSH's `ssh -tt` to the same device running the
// same `cat` (from the hub's 10.10.0.1, same account, a certificate from the same CA). Each path:
// write one byte, wait for its echo, repeat. Prints p50 and p99 of each and the added latency.
// Goal (issue 14): p50 + ≤ 2 ms.
//
// A fleet lab (root: network namespaces, Docker) with the API as a process and one device
// container enrolled by bootstrap.sh (its sshd set up for sessions).
//
//   sudo node api/bench/terminal-latency.mjs [keystrokes]      (needs `npx tsc -b` first)
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { startLab } from '@xspectre/lab';
import { SSH_ACCOUNT, TERMINAL_WS_PATH } from '@xspectre/contracts';
import { opensshOptions, sessionCredentials } from './ssh-session-credentials.mjs';

const KEYSTROKES = Number(process.argv[2] ?? 1000);
const WARMUP = 50;
const HUB = '10.10.0.1';
/** Raw mode without echo: the only echo is cat's, so each byte makes the whole trip to a process on the device. */
const ECHO_COMMAND = 'stty raw -echo; exec cat';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/**
 * An echo channel: `write(byte)` and a data listener. Waits until cat answers, then measures
 * KEYSTROKES single-byte round trips (after WARMUP unmeasured ones).
 */
async function measure(name, channel) {
  let pending = null;
  let seen = '';
  channel.onData((chunk) => {
    seen = (seen + chunk.toString('latin1')).slice(-64);
    if (pending && seen.includes(pending.char)) {
      const done = pending;
      pending = null;
      seen = '';
      done.resolve(performance.now() - done.started);
    }
  });
  const roundTrip = (char, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no echo of ${JSON.stringify(char)} within ${timeoutMs} ms`)), timeoutMs);
      pending = {
        char,
        started: performance.now(),
        resolve: (ms) => {
          clearTimeout(timer);
          resolve(ms);
        },
      };
      channel.write(char);
    });
  // cat is running once a byte comes back on its own (the shell's prompt and the typed command echo first).
  for (let i = 0; ; i++) {
    try {
      await roundTrip('Z', 1000);
      break;
    } catch (error) {
      if (i > 30) throw error;
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const samples = [];
  for (let i = 0; i < WARMUP + KEYSTROKES; i++) {
    const ms = await roundTrip(ALPHABET[i % ALPHABET.length]);
    if (i >= WARMUP) samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

const work = await mkdtemp(join(tmpdir(), 'xs-term-bench-'));
const keyStoreDir = join(work, 'keys');
const lab = await startLab({ containers: true, log: (line) => console.error(`lab: ${line}`) });
try {
  const api = await lab.startApi({ env: { API_KEY_STORE_DIR: keyStoreDir, API_AGENT_HEARTBEAT_SECONDS: '10' } });
  const admin = await api.admin();
  const site = await admin.createSite('Bench');
  const created = await admin.createDevice('term-bench-1', site);
  const device = await lab.addContainerDevice({ hostname: 'term-bench-1' });
  const boot = await device.bootstrap(created.claimCode);
  if (boot.exitCode !== 0) throw new Error(`bootstrap: ${boot.stdout}\n${boot.stderr}`);
  const overlay = boot.overlayAddress;
  const token = admin.accessToken;

  // The device reports its SSH host key with inventory; the API refuses sessions until it is pinned.
  let ticket;
  for (let i = 0; ; i++) {
    const r = await fetch(`${api.url}/devices/${created.id}/terminal-sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cols: 80, rows: 24 }),
    });
    if (r.status === 201) {
      ticket = await r.json();
      break;
    }
    if (i > 120) throw new Error(`no terminal ticket: ${r.status} ${await r.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }

  // The browser path's server side: the terminal WebSocket, acknowledging output as the console does.
  const ws = new WebSocket(
    `${new URL(api.url).origin.replace(/^http/, 'ws')}${TERMINAL_WS_PATH}?ticket=${encodeURIComponent(ticket.ticket)}`,
    {
      headers: { authorization: `Bearer ${token}` },
    },
  );
  const dataListeners = [];
  await new Promise((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        const message = JSON.parse(data.toString('utf8'));
        if (message.type === 'ready') resolve();
        if (message.type === 'error' || message.type === 'ended') reject(new Error(`terminal: ${JSON.stringify(message)}`));
        return;
      }
      ws.send(JSON.stringify({ type: 'ack', bytes: data.length }));
      for (const listener of dataListeners) listener(data);
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`terminal refused: ${res.statusCode}`)));
  });
  ws.send(Buffer.from(`${ECHO_COMMAND}\r`), { binary: true });
  const viaApi = await measure('websocket', {
    write: (char) => ws.send(Buffer.from(char), { binary: true }),
    onData: (listener) => dataListeners.push(listener),
  });
  ws.close();

  // The baseline: OpenSSH from the hub's address straight to the device.
  const key = await sessionCredentials({
    keyStoreDir,
    deviceId: created.id,
    dir: work,
    keyId: 'xspectre bench terminal-latency',
    sourceAddress: HUB,
  });
  const ssh = spawn('ssh', ['-tt', ...opensshOptions(key, HUB), `${SSH_ACCOUNT}@${overlay}`, ECHO_COMMAND], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let sshErr = '';
  ssh.stderr.on('data', (d) => (sshErr += d));
  const viaSsh = await measure('ssh', {
    write: (char) => ssh.stdin.write(char),
    onData: (listener) => ssh.stdout.on('data', listener),
  }).catch((error) => {
    throw new Error(`${error.message}\n${sshErr}`);
  });
  ssh.kill();

  const f = (ms) => `${ms.toFixed(2)} ms`;
  console.log(
    `keystroke round trip, ${KEYSTROKES} single bytes each (after ${WARMUP} warm-up), echoed by cat on a raw PTY; one device container over WireGuard, from ${HUB}`,
  );
  console.log(`browser path (WebSocket → API → SSH): p50 ${f(viaApi.p50)}, p99 ${f(viaApi.p99)}, mean ${f(viaApi.mean)}`);
  console.log(`OpenSSH ssh -tt:                      p50 ${f(viaSsh.p50)}, p99 ${f(viaSsh.p99)}, mean ${f(viaSsh.mean)}`);
  console.log(
    `added: p50 +${f(viaApi.p50 - viaSsh.p50)}, p99 +${f(viaApi.p99 - viaSsh.p99)}; ratio p50 ${(viaApi.p50 / viaSsh.p50).toFixed(2)}×, p99 ${(viaApi.p99 / viaSsh.p99).toFixed(2)}×`,
  );
  console.log(`goal p50 + ≤ 2 ms: ${viaApi.p50 - viaSsh.p50 <= 2 ? 'met' : 'NOT met'}`);
} finally {
  await lab.teardown();
  await rm(work, { recursive: true, force: true });
}
