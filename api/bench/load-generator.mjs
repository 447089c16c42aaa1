// The ingestion benchmark's load generator, run as its own process so its CPU is not the API's
// event loop. Reads {baseUrl, devices, seconds, rate, concurrency, raw, warmupSeconds} as JSON on
// stdin, prints one JSON line of results (with every latency when `raw`, so runs can be merged).
// Requests sent in the first `warmupSeconds` (default 0) are sent but not counted: a new process
// opens its connections and warms up there. A device's
// place in `devices` is its fixture index (heartbeat-fixture.mjs: what it breaches). Loopback only.
//
// It shares the machine's cores with the API and PostgreSQL, so it is kept cheap: bodies are
// filled into a pre-serialised template (heartbeatBodyWriter) and each worker speaks HTTP/1.1
// over its own keep-alive socket, with a minimal response parser (the API answers with a
// Content-Length, never chunked).
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { heartbeatBodyWriter } from './heartbeat-fixture.mjs';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { baseUrl, devices, seconds, rate, concurrency, raw, warmupSeconds = 0 } = JSON.parse(input);
const url = new URL('/api/v1/agent/heartbeats', baseUrl);
if (url.hostname !== '127.0.0.1') throw new Error('the load generator only targets 127.0.0.1');
const port = Number(url.port);
const render = heartbeatBodyWriter();
const head = (device, length) =>
  `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
  `Authorization: Bearer ${device.credential}\r\nContent-Length: ${length}\r\n\r\n`;

/** One keep-alive connection; `post` resolves with the status code (0: the connection failed). */
class Connection {
  socket = null;
  buffer = '';
  pending = null;

  connect() {
    this.buffer = '';
    this.socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk) => this.onData(chunk));
    const fail = () => {
      this.socket = null;
      this.settle(0);
    };
    this.socket.on('error', fail);
    this.socket.on('close', fail);
  }

  post(device, body) {
    if (!this.socket) this.connect();
    return new Promise((resolve) => {
      this.pending = resolve;
      this.socket.write(head(device, Buffer.byteLength(body)) + body, 'latin1');
    });
  }

  onData(chunk) {
    this.buffer += chunk;
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const header = this.buffer.slice(0, end);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(header)?.[1] ?? 0);
    if (this.buffer.length < end + 4 + length) return;
    this.buffer = this.buffer.slice(end + 4 + length);
    const status = Number(header.slice(9, 12));
    if (/\r\nconnection:\s*close/i.test(header)) {
      this.socket.removeAllListeners();
      this.socket.destroy();
      this.socket = null;
    }
    this.settle(status);
  }

  settle(status) {
    const resolve = this.pending;
    this.pending = null;
    resolve?.(status);
  }

  close() {
    this.socket?.removeAllListeners();
    this.socket?.destroy();
  }
}

const latencies = [];
const statuses = {};
let next = 0;
const started = performance.now();
const deadline = started + seconds * 1000;
const counted = started + warmupSeconds * 1000;
async function worker() {
  const connection = new Connection();
  while (performance.now() < deadline) {
    const n = next++;
    if (rate) {
      const wait = started + (n / rate) * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (performance.now() >= deadline) break;
    }
    const index = n % devices.length;
    const device = devices[index];
    device.sequence += 1;
    const body = render(device.id, device.sequence, new Date().toISOString(), index);
    const t0 = performance.now();
    const status = await connection.post(device, body);
    if (t0 < counted) continue;
    latencies.push(performance.now() - t0);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  connection.close();
}
await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = (performance.now() - started) / 1000 - warmupSeconds;
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : NaN);
process.stdout.write(
  `${JSON.stringify({
    count: latencies.length,
    errors: latencies.length - (statuses[200] ?? 0),
    statuses,
    perSecond: latencies.length / elapsed,
    elapsed,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    sequences: devices.map((d) => d.sequence),
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    latencies: raw ? latencies.map((l) => Math.round(l * 100) / 100) : undefined,
  })}\n`,
);
