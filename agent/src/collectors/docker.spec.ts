import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerReportSchema, MAX_MEMORY_BYTES, MAX_RESTART_COUNT } from '@xspectre/contracts';
import { containerState, cpuCounters, parseContainerList, parseInspect, statsCpuPercent, statsMemoryBytes } from './docker-parsers.js';
import { DockerCollector } from './docker.js';

/** A stats body as the engine answers it (cgroup v2), trimmed to what matters. */
const STATS = {
  read: '2026-11-23T17:00:00.000000000Z',
  cpu_stats: {
    cpu_usage: { total_usage: 2_500_000_000, usage_in_kernelmode: 1, usage_in_usermode: 2 },
    system_cpu_usage: 110_000_000_000,
    online_cpus: 4,
  },
  precpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 100_000_000_000, online_cpus: 4 },
  memory_stats: { usage: 52_428_800, stats: { inactive_file: 10_485_760, anon: 30_000_000 }, limit: 8_000_000_000 },
};

describe('docker parsers', () => {
  it('computes cpu % and memory like docker stats', () => {
    // 0.5 s of container time over 10 s of host time × 4 CPUs = 20 %
    expect(statsCpuPercent(cpuCounters(STATS.precpu_stats), cpuCounters(STATS.cpu_stats))).toBe(20);
    expect(statsMemoryBytes(STATS)).toBe(52_428_800 - 10_485_760);
    // cgroup v1 names the cache total_inactive_file; percpu_usage gives the CPU count
    const v1 = { memory_stats: { usage: 1000, stats: { total_inactive_file: 400 } } };
    expect(statsMemoryBytes(v1)).toBe(600);
    expect(cpuCounters({ cpu_usage: { total_usage: 5, percpu_usage: [1, 2] }, system_cpu_usage: 9 })?.onlineCpus).toBe(2);
    // one-shot: empty precpu_stats → no reading
    expect(cpuCounters({ cpu_usage: { total_usage: 0 }, throttling_data: {} })).toBeNull();
    expect(statsCpuPercent(null, cpuCounters(STATS.cpu_stats))).toBeNull();
    expect(statsMemoryBytes({ memory_stats: {} })).toBeNull();
  });

  it('keeps numbers within the bounds the API accepts, whatever the daemon answers', () => {
    const reading = (container: number, system: number) => ({ container, system, onlineCpus: 4 });
    // More container time than host time (a daemon bug, a counter glitch): at most every core busy.
    expect(statsCpuPercent(reading(0, 0), reading(1e15, 1))).toBe(400);
    expect(statsMemoryBytes({ memory_stats: { usage: 1e300 } })).toBe(MAX_MEMORY_BYTES);
    expect(parseInspect({ RestartCount: 1e12 }).restartCount).toBe(MAX_RESTART_COUNT);
  });

  it('parses the container list and inspect bodies', () => {
    const list = parseContainerList([
      { Id: 'a'.repeat(64), Names: ['/web'], Image: 'nginx:1.27', State: 'running', Status: 'Up 2 hours' },
      { Id: 'b'.repeat(64), Names: [], Image: 'redis', State: 'exited' },
      { Names: ['/no-id'] },
    ]);
    expect(list).toEqual([
      { id: 'a'.repeat(64), name: 'web', image: 'nginx:1.27', state: 'running' },
      { id: 'b'.repeat(64), name: 'bbbbbbbbbbbb', image: 'redis', state: 'exited' },
    ]);
    const inspect = parseInspect({ RestartCount: 3, State: { Status: 'running', Health: { Status: 'healthy', FailingStreak: 0 } } });
    expect(inspect).toEqual({ restartCount: 3, health: 'healthy' });
    expect(parseInspect({ State: {} })).toEqual({ restartCount: 0, health: null });
    expect(containerState(list[0]!, inspect, 20, 1000)).toEqual({
      id: 'a'.repeat(64),
      name: 'web',
      image: 'nginx:1.27',
      state: 'running',
      health: 'healthy',
      restartCount: 3,
      cpuPercent: 20,
      memoryBytes: 1000,
    });
  });
});

describe('DockerCollector', () => {
  let dir: string;
  let server: Server;
  const requests: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-docker-'));
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const answer = (body: unknown, status = 200) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/containers/json?all=1')
        return answer([
          { Id: 'c1', Names: ['/web'], Image: 'nginx', State: 'running' },
          { Id: 'c2', Names: ['/old'], Image: 'redis', State: 'exited' },
        ]);
      if (req.url === '/containers/c1/json') return answer({ RestartCount: 1, State: { Health: { Status: 'starting' } } });
      if (req.url === '/containers/c2/json') return answer({ message: 'No such container' }, 404);
      if (req.url?.startsWith('/containers/c1/stats?')) return answer(STATS);
      answer({ message: 'not found' }, 404);
    });
    await new Promise<void>((resolve) => server.listen(join(dir, 'docker.sock'), resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('reports containers from the Engine API over a unix socket', async () => {
    const report = await new DockerCollector(join(dir, 'docker.sock')).collect();
    expect(DockerReportSchema.parse(report)).toEqual({
      status: 'ok',
      containers: [
        {
          id: 'c1',
          name: 'web',
          image: 'nginx',
          state: 'running',
          health: 'starting',
          restartCount: 1,
          cpuPercent: 20,
          memoryBytes: 41_943_040,
        },
        { id: 'c2', name: 'old', image: 'redis', state: 'exited', health: null, restartCount: 0, cpuPercent: null, memoryBytes: null },
      ],
    });
    expect(requests).toContain('/containers/c1/stats?stream=false&one-shot=true');
  });

  it('reports not_installed when the socket is missing', async () => {
    expect(await new DockerCollector(join(dir, 'missing.sock')).collect()).toEqual({ status: 'not_installed' });
  });

  it('reports an error when the socket does not answer HTTP', async () => {
    const report = await new DockerCollector(dir).collect(); // a directory: connect fails
    expect(report.status).toBe('error');
    expect(DockerReportSchema.safeParse(report).success).toBe(true);
  });
});
