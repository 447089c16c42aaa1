// Memory of a full offline journal: what the agent holds after opening a 20 MiB journal of
// realistic heartbeats (a device offline for a day and a half at a 30 s interval) and taking
// its first replay batch, beside the same Node.js process that only loads the journal module.
// Both run with the executable's flags (node-flags.json) plus --expose-gc, and are measured
// after two full collections: RSS and V8 heap in use. Also prints the CPU time of opening
// (reading and validating every line).
//
//   npm run build -w agent && node agent/bench/journal-memory.mjs
//   BENCH_JOURNAL_MIB=5 node agent/bench/journal-memory.mjs
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { heartbeat } from '../../api/bench/heartbeat-fixture.mjs';

const agentDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_FLAGS = JSON.parse(readFileSync(join(agentDir, 'node-flags.json'), 'utf8'));
const journalModule = pathToFileURL(join(agentDir, 'dist', 'journal.js')).href;
const MIB = Number(process.env.BENCH_JOURNAL_MIB ?? 20);

async function writeJournal(stateDir) {
  const dir = join(stateDir, 'journal');
  await mkdir(dir, { recursive: true });
  const deviceId = randomUUID();
  const lines = [];
  let bytes = 0;
  const start = Date.now() - 36 * 3600_000;
  for (let sequence = 1; ; sequence++) {
    const line = `${JSON.stringify(heartbeat(deviceId, sequence, new Date(start + sequence * 30_000).toISOString()))}\n`;
    if (bytes + Buffer.byteLength(line) > MIB * 1024 * 1024) break;
    lines.push(line);
    bytes += Buffer.byteLength(line);
  }
  await writeFile(join(dir, 'heartbeats.jsonl'), lines.join(''), { mode: 0o600 });
  await writeFile(join(dir, 'meta.json'), '{"acknowledged":0,"gap":null}\n', { mode: 0o600 });
  return { count: lines.length, bytes };
}

/** Runs a child with the shipping flags; it prints one JSON line of measurements. */
function measure(stateDir, openJournal) {
  const script = `
    const { HeartbeatJournal } = await import(${JSON.stringify(journalModule)});
    const cpu0 = process.cpuUsage();
    let kept = null, batch = 0;
    if (${openJournal}) {
      kept = (await HeartbeatJournal.open(${JSON.stringify(stateDir)}, { maxBytes: ${MIB} * 1024 * 1024 })).journal;
      batch = (await kept.pending()).length;
    }
    const cpu = process.cpuUsage(cpu0);
    gc(); gc();
    await new Promise((r) => setTimeout(r, 200));
    gc();
    const m = process.memoryUsage();
    console.log(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, count: kept?.count ?? 0, batch, cpuMs: (cpu.user + cpu.system) / 1000 }));
  `;
  const out = execFileSync(process.execPath, [...NODE_FLAGS, '--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1));
}

const stateDir = await mkdtemp(join(tmpdir(), 'xspectre-journal-bench-'));
try {
  const written = await writeJournal(stateDir);
  const bare = measure(stateDir, false);
  const agent = measure(stateDir, true);
  if (agent.count !== written.count) throw new Error(`opened ${agent.count} of ${written.count} heartbeats`);
  const mb = (b) => (b / 1e6).toFixed(1);
  console.log(`journal: ${(written.bytes / 1048576).toFixed(1)} MiB, ${written.count} heartbeats, first batch ${agent.batch}`);
  console.log(`bare node: RSS ${mb(bare.rss)} MB, heap used ${mb(bare.heapUsed)} MB`);
  console.log(
    `journal open: RSS ${mb(agent.rss)} MB, heap used ${mb(agent.heapUsed)} MB (RSS ratio ${(agent.rss / bare.rss).toFixed(2)}x, ` +
      `+${mb(agent.rss - bare.rss)} MB), opening took ${agent.cpuMs.toFixed(0)} ms CPU`,
  );
} finally {
  await rm(stateDir, { recursive: true, force: true });
}
