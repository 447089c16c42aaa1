// The fleet-reads benchmark's operators (fleet-reads.mjs), run as their own process so their CPU
// is not the API's event loop. Reads one JSON request per stdin line:
//   {baseUrl, token, paths, concurrency, seconds, count?}
// and answers each with one JSON line: GET latencies of `concurrency` readers, each on its own
// keep-alive connection, taking `paths` round-robin for `seconds` (or until `count` requests).
// Every answer is read whole; a status other than 200 counts as an error. Loopback only.
import http from 'node:http';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

/** One GET on `agent`; resolves with the status (0: the connection failed). */
function get(agent, url, token) {
  return new Promise((resolve) => {
    const request = http.get(url, { agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (response) => {
      response.on('data', () => undefined);
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', () => resolve(0));
    });
    request.on('error', () => resolve(0));
  });
}

async function run({ baseUrl, token, paths, concurrency, seconds, count }) {
  const base = new URL(baseUrl);
  if (base.hostname !== '127.0.0.1') throw new Error('the fleet readers only target 127.0.0.1');
  const latencies = [];
  const statuses = {};
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const reader = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (performance.now() < deadline && (count === undefined || next < count)) {
      const path = paths[next++ % paths.length];
      const t0 = performance.now();
      const status = await get(agent, new URL(path, base), token);
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: concurrency }, reader));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    errors: latencies.length - (statuses[200] ?? 0),
    statuses,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
  };
}

for await (const line of readline.createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const result = await run(JSON.parse(line)).catch((error) => ({ failed: error.message }));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
