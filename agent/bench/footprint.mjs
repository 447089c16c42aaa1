// Footprint of the agent as it ships: the single executable (dist/sea/xspectre-agent) running
// `run` with a 30 s heartbeat interval against a stand-in API on loopback, beside a bare Node.js
// process started the same way (the same Node.js binary the executable is built from, the same
// flags from node-flags.json, environment and stdio) that only runs a 30 s timer. Both start
// cold (their binaries dropped from the page cache, as after a reboot) and are sampled every
// second from /proc/<pid>/status (VmRSS, RssAnon, RssFile) and /proc/<pid>/stat (utime + stime,
// plus children waited for); CPU is averaged from each process's start, so startup and the
// agent's first collection count. Fails when no heartbeat with metrics arrived, when the agent
// did not run with node-flags.json's flags, or when it did not stop cleanly on SIGTERM.
//
//   npm run bench:footprint -w agent          (builds the executable first)
//   BENCH_SECONDS=60 node agent/bench/footprint.mjs
//
// Docker: XSPECTRE_DOCKER_SOCKET when set, else /var/run/docker.sock, else the fleet lab's
// engine socket, when one exists. Systemd units are read only when systemd is PID 1.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { HeartbeatAckSchema, HeartbeatBatchSchema, HeartbeatSchema } from '@xspectre/contracts';
import { seaNodePath } from '../sea-node.mjs';

const agentDir = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The Node.js flags the executable carries (its SEA config's execArgv): the bare process gets them too. */
const SEA_EXEC_ARGV = JSON.parse(readFileSync(join(agentDir, 'node-flags.json'), 'utf8'));
const executable = join(agentDir, 'dist', 'sea', 'xspectre-agent');
const idleScript = join(agentDir, 'bench', 'idle.cjs');
const INTERVAL_SECONDS = 30;
const GOAL_RSS_MB = 60;
const GOAL_CPU_PERCENT = 0.5;
const DOCKER_SOCKETS = ['/var/run/docker.sock', '/run/xspectre-lab/docker.sock'];
/** What systemd gives a service that sets no Environment=. */
const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function fail(message) {
  console.error(`footprint: ${message}`);
  process.exit(1);
}

const seconds = Number(process.env.BENCH_SECONDS ?? 300);
if (!Number.isInteger(seconds) || seconds < 5) fail('BENCH_SECONDS must be a whole number of seconds, at least 5');
if (process.platform !== 'linux') fail('reads /proc: Linux only');
if (!existsSync(executable)) fail(`${executable} is missing: run \`npm run build:sea -w agent\` first`);
const node = seaNodePath();
if (!existsSync(node)) fail(`${node} is missing: run \`npm run build:sea -w agent\` first`);
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * The stand-in API: validates heartbeats with the contract and acknowledges them (interval 30 s),
 * and holds the agent's command long poll as the API does when no command waits.
 */
async function startAckServer(deviceId, credential) {
  const received = { requests: 0, heartbeats: 0, withMetrics: 0, withInventory: 0, services: null, docker: null, polls: 0, rejected: [] };
  let lastSequence = 0;
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const reject = (status, why) => {
      received.rejected.push(`${status} ${why}`);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(why);
    };
    if (req.method === 'GET' && req.url?.startsWith('/api/v1/agent/commands?')) {
      if (req.headers.authorization !== `Bearer ${credential}`) return reject(401, 'bad credential');
      received.polls++;
      const wait = Number(new URL(req.url, 'http://x').searchParams.get('waitSeconds') ?? 0) * 1000;
      const answer = () =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ commands: [], serverTime: new Date().toISOString() }));
      const timer = setTimeout(answer, wait);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/api/v1/agent/heartbeats') return reject(404, `no route ${req.method} ${req.url}`);
    if (req.headers.authorization !== `Bearer ${credential}`) return reject(401, 'bad credential');
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return reject(400, 'not JSON');
    }
    const parsed = HeartbeatSchema.or(HeartbeatBatchSchema).safeParse(body);
    if (!parsed.success) return reject(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const batch = 'heartbeats' in parsed.data ? parsed.data.heartbeats : [parsed.data];
    if (batch.some((hb) => hb.deviceId !== deviceId)) return reject(403, 'another device');
    received.requests++;
    for (const hb of batch) {
      received.heartbeats++;
      if (hb.metrics) received.withMetrics++;
      if (hb.inventory) received.withInventory++;
      if (hb.services) received.services = hb.services.length;
      if (hb.docker) received.docker = hb.docker.status;
      lastSequence = Math.max(lastSequence, hb.sequence);
    }
    const ack = HeartbeatAckSchema.parse({
      accepted: batch.length,
      duplicates: 0,
      lastSequence,
      serverTime: new Date().toISOString(),
      heartbeatIntervalSeconds: INTERVAL_SECONDS,
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ack));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    server.closeAllConnections(); // held polls
    return new Promise((r) => server.close(r));
  };
  return { url: `http://127.0.0.1:${server.address().port}/api/v1`, received, close };
}

/** Starts a process and keeps its output (the agent's JSON log lines) for the report. */
function startProcess(label, file, args, env) {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = {
    label,
    child,
    stdout: '',
    stderr: '',
    rssKb: [],
    anonKb: [],
    fileKb: [],
    hwmKb: 0,
    ticks: 0,
    startedAt: performance.now(),
    exit: null,
  };
  child.stdout.on('data', (d) => (proc.stdout += d));
  child.stderr.on('data', (d) => (proc.stderr += d));
  proc.exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      proc.exit = { code, signal };
      resolve(proc.exit);
    }),
  );
  return proc;
}

/** One sample from /proc; false when the process is gone. */
function sample(proc) {
  try {
    const status = readFileSync(`/proc/${proc.child.pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${proc.child.pid}/stat`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    // Fields after "(comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17 (proc(5)).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    proc.rssKb.push(kb('VmRSS'));
    proc.anonKb.push(kb('RssAnon'));
    proc.fileKb.push(kb('RssFile') + kb('RssShmem'));
    proc.hwmKb = Math.max(proc.hwmKb, kb('VmHWM'));
    // utime + stime, plus cutime + cstime of children it waited for (systemctl).
    proc.ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    proc.elapsed = (performance.now() - proc.startedAt) / 1000;
    return true;
  } catch {
    return false;
  }
}

function summary(proc) {
  const mb = (kb) => (kb * 1024) / 1e6;
  const avg = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    rssAvg: mb(avg(proc.rssKb)),
    anonAvg: mb(avg(proc.anonKb)),
    fileAvg: mb(avg(proc.fileKb)),
    rssMax: mb(Math.max(...proc.rssKb)),
    rssPeak: mb(proc.hwmKb),
    cpu: (100 * proc.ticks) / clockTicks / proc.elapsed,
  };
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'xspectre-footprint-'));
  const deviceId = randomUUID();
  const credential = `xsd_${randomBytes(32).toString('base64url')}`;
  const api = await startAckServer(deviceId, credential);
  const config = join(work, 'agent.conf');
  const stateDir = join(work, 'state');
  await writeFile(
    config,
    `${JSON.stringify({
      deviceId,
      deviceName: 'footprint-bench',
      apiUrl: api.url,
      deviceCredential: credential,
      // A config as written before commandSigningKeys: the agent pins this one key (a real Ed25519 key, checked at load).
      commandSigningPublicKey:
        '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA3sFrLiORpwiLLiNDL3ertH4IVjs687m9dmCl4O2bsyQ=\n-----END PUBLIC KEY-----\n',
      heartbeatIntervalSeconds: INTERVAL_SECONDS,
      protocolVersion: 1,
      overlayAddress: '10.10.0.21',
      overlayPrefixLength: 24,
      hubEndpoint: '198.18.0.1:51820',
      modules: { docker: true, scanner: true, backups: 'off' },
      enrolledAt: new Date().toISOString(),
    })}\n`,
    { mode: 0o600 },
  );
  const dockerSocket = process.env.XSPECTRE_DOCKER_SOCKET?.trim() || DOCKER_SOCKETS.find((path) => existsSync(path));
  const env = { PATH: SERVICE_PATH, ...(dockerSocket ? { XSPECTRE_DOCKER_SOCKET: dockerSocket } : {}) };

  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8', env }).trim();
  // Cold start, as after a reboot: a binary still in the page cache from being written or
  // copied gets ~10 MB more of its pages mapped (fault-around), which RSS counts.
  for (const binary of [executable, node]) execFileSync('dd', [`if=${binary}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
  const agent = startProcess('agent', executable, ['run', '--config', config, '--state-dir', stateDir], env);
  const bare = startProcess('bare', node, [...SEA_EXEC_ARGV, idleScript], env);
  const procs = [agent, bare];
  const stopAll = () => procs.forEach((p) => p.exit || p.child.kill('SIGKILL'));
  process.once('SIGINT', () => {
    stopAll();
    process.exit(130);
  });

  console.log(`footprint: ${seconds} s, heartbeat interval ${INTERVAL_SECONDS} s, a sample every 1 s, CLK_TCK ${clockTicks}`);
  console.log(`  agent: ${relative(process.cwd(), executable)} run (single executable, Node.js ${nodeVersion})`);
  console.log(`  bare:  ${node} ${[...SEA_EXEC_ARGV, relative(process.cwd(), idleScript)].join(' ')}`);
  console.log(
    `  Node.js flags of both: ${SEA_EXEC_ARGV.join(' ') || '(none)'}; docker socket: ${dockerSocket ?? '(none)'}; ` +
      `systemd as PID 1: ${existsSync('/run/systemd/system') ? 'yes' : 'no (service states are not collected)'}`,
  );

  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    for (const proc of procs) {
      if (!sample(proc) || proc.exit) {
        stopAll();
        fail(`${proc.label} exited early (${JSON.stringify(proc.exit)}):\n${proc.stdout.slice(-2000)}${proc.stderr.slice(-2000)}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, deadline - performance.now()))));
  }
  procs.forEach(sample);
  for (const proc of procs) proc.child.kill('SIGTERM');
  const exits = await Promise.all(procs.map((p) => p.exited));
  await api.close();
  await rm(work, { recursive: true, force: true });

  const a = summary(agent);
  const b = summary(bare);
  const received = api.received;
  const logLines = agent.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
  const warnings = logLines.filter((l) => l.level !== 'info');
  const started = logLines.find((l) => l.msg === 'agent started');
  const ratio = (x, y) => (y > 0 ? `${(x / y).toFixed(2)}x` : '-');
  const row = (label, ...cells) => console.log(`  ${label.padEnd(11)}${cells.map((c) => String(c).padStart(12)).join('')}`);

  console.log(
    `heartbeats received: ${received.heartbeats} in ${received.requests} requests (${received.withMetrics} with metrics, ` +
      `${received.withInventory} with inventory; services: ${received.services ?? 'none'} units; docker: ${received.docker ?? 'none'}; ` +
      `${received.polls} command polls)` +
      (received.rejected.length ? `; rejected: ${received.rejected.join(', ')}` : ''),
  );
  console.log(
    `agent log: ${logLines.length} lines, ${warnings.length} warnings${warnings.length ? `: ${warnings.map((w) => w.msg).join('; ')}` : ''}`,
  );
  console.log(`agent exit after SIGTERM: ${JSON.stringify(exits[0])}`);
  const cells = (s) => [
    s.rssAvg.toFixed(1),
    s.rssMax.toFixed(1),
    s.rssPeak.toFixed(1),
    s.anonAvg.toFixed(1),
    s.fileAvg.toFixed(1),
    s.cpu.toFixed(3),
  ];
  row('', 'RSS avg MB', 'RSS max MB', 'VmHWM MB', 'anon avg', 'file avg', 'CPU % core');
  row('agent', ...cells(a));
  row('bare node', ...cells(b));
  row('agent/bare', ...['rssAvg', 'rssMax', 'rssPeak', 'anonAvg', 'fileAvg', 'cpu'].map((key) => ratio(a[key], b[key])));
  const met = (ok) => (ok ? 'met' : 'NOT MET');
  console.log(
    `goals: RSS <= ${GOAL_RSS_MB} MB (max ${a.rssMax.toFixed(1)}): ${met(a.rssMax <= GOAL_RSS_MB)}; ` +
      `CPU <= ${GOAL_CPU_PERCENT} % of a core (${a.cpu.toFixed(3)}): ${met(a.cpu <= GOAL_CPU_PERCENT)}`,
  );
  console.log(
    '(MB = 10^6 bytes; RSS max: highest 1 s sample; VmHWM: kernel peak; anon/file: RssAnon and RssFile+RssShmem; ' +
      'CPU: utime+stime (+ waited-for children) from process start to the end)',
  );

  if (received.withMetrics === 0) fail('the stand-in API received no heartbeat with metrics');
  if ((started?.nodeFlags ?? '') !== SEA_EXEC_ARGV.join(' '))
    fail(`the agent ran with flags "${started?.nodeFlags}", not node-flags.json's`);
  if (exits[0].code !== 0) fail(`the agent did not stop cleanly on SIGTERM:\n${agent.stderr.slice(-2000)}`);
}

main().catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
