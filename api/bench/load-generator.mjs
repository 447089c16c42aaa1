// The ingestion benchmark's load generator, run as its own process so its CPU is not the API's
// event loop. Reads {baseUrl, devices, seconds, rate, concurrency} as JSON on stdin, prints one
// JSON line of results. Loopback only.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { heartbeat } from './heartbeat-fixture.mjs';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { baseUrl, devices, seconds, rate, concurrency } = JSON.parse(input);
const url = new URL('/api/v1/agent/heartbeats', baseUrl);
if (url.hostname !== '127.0.0.1') throw new Error('the load generator only targets 127.0.0.1');
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function post(device, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${device.credential}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const latencies = [];
const statuses = {};
let next = 0;
const started = performance.now();
const deadline = started + seconds * 1000;
async function worker() {
  while (performance.now() < deadline) {
    const n = next++;
    if (rate) {
      const wait = started + (n / rate) * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (performance.now() >= deadline) break;
    }
    const device = devices[n % devices.length];
    device.sequence += 1;
    const body = JSON.stringify(heartbeat(device.id, device.sequence));
    const t0 = performance.now();
    const status = await post(device, body).catch(() => 0);
    latencies.push(performance.now() - t0);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : NaN);
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    count: latencies.length,
    errors: latencies.length - (statuses[200] ?? 0),
    statuses,
    perSecond: latencies.length / elapsed,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    sequences: devices.map((d) => d.sequence),
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  })}\n`,
);
