import { access } from 'node:fs/promises';
import { DockerReportSchema, type ContainerState, type DockerReport } from '@xspectre/contracts';
import { cleanText } from '../facts-parsers.js';
import { httpModule } from '../builtins.js';
import {
  containerState,
  cpuCounters,
  parseContainerList,
  parseInspect,
  statsCpuPercent,
  statsMemoryBytes,
  type CpuCounters,
} from './docker-parsers.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
export const DOCKER_REQUEST_TIMEOUT_MS = 5000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MAX_CONTAINERS = 1000;
const CONCURRENCY = 4;

/** GET over the engine's unix socket; resolves the body of a 2xx answer as text (at most `maxBytes`). */
export function dockerGetText(
  socketPath: string,
  path: string,
  timeoutMs = DOCKER_REQUEST_TIMEOUT_MS,
  maxBytes = MAX_BODY_BYTES,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpModule().request({ socketPath, path, method: 'GET', headers: { host: 'docker' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) req.destroy(new Error(`docker: answer to ${path} is too large`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) return reject(new Error(`docker: GET ${path} answered HTTP ${status}`));
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`docker: GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET over the engine's unix socket; resolves the parsed JSON of a 2xx answer. */
export async function dockerGet(socketPath: string, path: string, timeoutMs = DOCKER_REQUEST_TIMEOUT_MS): Promise<unknown> {
  const body = await dockerGetText(socketPath, path, timeoutMs);
  try {
    return JSON.parse(body);
  } catch {
    throw new Error(`docker: GET ${path} did not answer JSON`);
  }
}

/** Docker containers over the Engine API; keeps the last CPU reading per container between calls. */
export class DockerCollector {
  private lastCpu = new Map<string, CpuCounters>();

  constructor(private readonly socketPath: string = DEFAULT_DOCKER_SOCKET) {}

  async collect(): Promise<DockerReport> {
    try {
      await access(this.socketPath);
    } catch {
      return { status: 'not_installed' };
    }
    try {
      const containers = parseContainerList(await dockerGet(this.socketPath, '/containers/json?all=1')).slice(0, MAX_CONTAINERS);
      const states: ContainerState[] = [];
      const seen = new Map<string, CpuCounters>();
      for (let i = 0; i < containers.length; i += CONCURRENCY) {
        states.push(...(await Promise.all(containers.slice(i, i + CONCURRENCY).map((c) => this.container(c, seen)))));
      }
      this.lastCpu = seen;
      return DockerReportSchema.parse({ status: 'ok', containers: states });
    } catch (err) {
      return { status: 'error', error: cleanText(err instanceof Error ? err.message : String(err), 500) ?? 'unknown error' };
    }
  }

  private async container(summary: ReturnType<typeof parseContainerList>[number], seen: Map<string, CpuCounters>): Promise<ContainerState> {
    const id = encodeURIComponent(summary.id);
    const inspect = await dockerGet(this.socketPath, `/containers/${id}/json`)
      .then(parseInspect)
      .catch(() => null); // removed meanwhile: report what the list said
    if (summary.state !== 'running') return containerState(summary, inspect, null, null);
    const stats = await dockerGet(this.socketPath, `/containers/${id}/stats?stream=false&one-shot=true`).catch(() => null);
    if (stats === null) return containerState(summary, inspect, null, null);
    const body = stats as Record<string, unknown>;
    const cur = cpuCounters(body.cpu_stats);
    if (cur) seen.set(summary.id, cur);
    // one-shot leaves precpu_stats empty: fall back to the reading of the previous heartbeat
    const prev = cpuCounters(body.precpu_stats) ?? this.lastCpu.get(summary.id) ?? null;
    return containerState(summary, inspect, statsCpuPercent(prev, cur), statsMemoryBytes(stats));
  }
}
