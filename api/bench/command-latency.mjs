// POST → succeeded for a trivial action on a real device, beside the long-poll wake-up alone.
//
// A fleet lab (root: network namespaces, Docker) with the API and worker as processes and one
// device container enrolled by bootstrap.sh; its agent runs as the sandboxed systemd service.
// 100 commands `service.restart` of a oneshot unit that runs /bin/true, one after the other (an
// operator clicking). Per command, from the API's own timestamps:
//   wake-up:   queued → delivered (the held poll answered through the Redis wake-up),
//   end to end: queued → succeeded (delivered, verified, recorded, `running` reported,
//               systemd-run, the unit's result read, the result reported).
// Prints p50/p99 of both and end to end as a ratio of the wake-up. Goal (issue 12): p50 < 1 s.
//
//   sudo node api/bench/command-latency.mjs [count]      (needs `npx tsc -b` first)
import pg from 'pg';
import { startLab } from '@xspectre/lab';

const COUNT = Number(process.argv[2] ?? 100);
const NOOP_UNIT = '[Unit]\nDescription=bench no-op\n[Service]\nType=oneshot\nExecStart=/bin/true\n';
const FINAL = new Set(['succeeded', 'failed', 'rejected', 'expired', 'interrupted']);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function must(result, what) {
  const r = await result;
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode} ${r.stderr}`);
  return r;
}

const lab = await startLab({ containers: true, log: (line) => console.error(`lab: ${line}`) });
let db;
try {
  const api = await lab.startApi({ env: { API_AGENT_HEARTBEAT_SECONDS: '30' } });
  const admin = await api.admin();
  const site = await admin.createSite('Bench');
  const created = await admin.createDevice('bench-1', site);
  const device = await lab.addContainerDevice({ hostname: 'bench-1' });
  const boot = await device.bootstrap(created.claimCode);
  if (boot.exitCode !== 0) throw new Error(`bootstrap: ${boot.stdout}\n${boot.stderr}`);
  await must(device.exec('sh', ['-c', 'cat > /etc/systemd/system/xs-noop.service'], { input: NOOP_UNIT }), 'write the unit');
  await must(device.exec('systemctl', ['daemon-reload']), 'daemon-reload');

  db = new pg.Client({ connectionString: api.databaseUrl });
  // A dropped connection must fail the run with its reason, not crash it as an unhandled 'error'.
  db.on('error', (error) => console.error(`bench database connection: ${error.message}`));
  await db.connect();
  const token = admin.accessToken;
  const post = async () => {
    const response = await fetch(`${api.url}/devices/${created.id}/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ action: 'service.restart', params: { unit: 'xs-noop.service' } }),
    });
    const body = await response.json();
    if (response.status !== 201) throw new Error(`POST: ${response.status} ${JSON.stringify(body)}`);
    return body.id;
  };
  const waitFinal = async (id) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await db.query(
        `SELECT status, reason, extract(epoch FROM delivered_at - issued_at) * 1000 AS wake,
                extract(epoch FROM finished_at - issued_at) * 1000 AS total FROM commands WHERE id = $1`,
        [id],
      );
      const row = rows[0];
      if (row && FINAL.has(row.status)) return row;
      if (Date.now() > deadline) throw new Error(`command ${id} not final after 60 s`);
      await sleep(5);
    }
  };

  // Warm-up: the first command pays for the agent's first poll, the unit's first load.
  for (let i = 0; i < 3; i++) await waitFinal(await post());
  const wake = [];
  const total = [];
  for (let i = 0; i < COUNT; i++) {
    const row = await waitFinal(await post());
    if (row.status !== 'succeeded') throw new Error(`command ${i}: ${row.status} ${row.reason}`);
    wake.push(Number(row.wake));
    total.push(Number(row.total));
  }
  wake.sort((a, b) => a - b);
  total.sort((a, b) => a - b);
  const fmt = (ms) => `${ms.toFixed(1)} ms`;
  console.log(`commands: ${COUNT} × service.restart of a oneshot /bin/true unit, one device container, one at a time`);
  console.log(`long-poll wake-up (queued → delivered):  p50 ${fmt(percentile(wake, 50))}  p99 ${fmt(percentile(wake, 99))}`);
  console.log(`POST → succeeded (queued → finished):    p50 ${fmt(percentile(total, 50))}  p99 ${fmt(percentile(total, 99))}`);
  console.log(
    `ratio end to end / wake-up:               p50 ${(percentile(total, 50) / percentile(wake, 50)).toFixed(1)}×  p99 ${(percentile(total, 99) / percentile(wake, 99)).toFixed(1)}×`,
  );
  console.log(`goal p50 < 1000 ms: ${percentile(total, 50) < 1000 ? 'met' : 'NOT met'}`);
} finally {
  await db?.end().catch(() => undefined);
  await lab.teardown();
}
