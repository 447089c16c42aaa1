import { httpModule } from '../builtins.js';
import type { FinalResult } from './command-journal.js';
import { boundUtf8 } from './output.js';

/**
 * container.restart|start|stop through the Docker Engine API on the socket the agent already
 * reads (collectors/docker.ts). These are API calls, not processes: no transient unit, but the
 * command journal still records them started and finished once.
 */
export const CONTAINER_ACTION_TIMEOUT_MS = 180_000;
const MAX_ANSWER_BYTES = 64 * 1024;

export type ContainerVerb = 'restart' | 'start' | 'stop';

export function containerVerb(action: string): ContainerVerb | null {
  return action === 'container.restart' || action === 'container.start' || action === 'container.stop'
    ? (action.slice('container.'.length) as ContainerVerb)
    : null;
}

/** The Engine API path; the name is escaped, so it stays one path segment whatever it holds. */
export function containerActionPath(verb: ContainerVerb, container: string): string {
  return `/containers/${encodeURIComponent(container)}/${verb}`;
}

export interface DockerAnswer {
  status: number;
  body: string;
}

/** POST over the engine's unix socket; rejects when no answer arrives. */
export function dockerPost(socketPath: string, path: string, timeoutMs = CONTAINER_ACTION_TIMEOUT_MS): Promise<DockerAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpModule().request(
      { socketPath, path, method: 'POST', headers: { host: 'docker', 'content-length': '0' }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from the Docker engine within ${Math.round(timeoutMs / 1000)} s`)));
    req.on('error', reject);
    req.end();
  });
}

const DONE: Record<ContainerVerb, string> = { restart: 'restarted', start: 'started', stop: 'stopped' };
const ALREADY: Record<ContainerVerb, string> = { restart: 'restarted', start: 'already running', stop: 'already stopped' };

/** The engine's answer as a command result: 204 done, 304 nothing to do, anything else failed with the engine's message. */
export function containerResult(verb: ContainerVerb, container: string, answer: DockerAnswer): FinalResult {
  if (answer.status === 204) return { status: 'succeeded', exitCode: 0, stdout: `container ${container} ${DONE[verb]}\n` };
  if (answer.status === 304) return { status: 'succeeded', exitCode: 0, stdout: `container ${container} ${ALREADY[verb]}\n` };
  let message = answer.body.trim();
  try {
    const parsed = JSON.parse(answer.body) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: the body as it is
  }
  const stderr = boundUtf8(`Docker engine: HTTP ${answer.status}${message ? `: ${message}` : ''}\n`);
  return {
    status: 'failed',
    exitCode: 1,
    stderr: stderr.text,
    stderrTruncated: stderr.truncated,
    reason: answer.status === 404 ? `no such container: ${container}` : `the Docker engine answered HTTP ${answer.status}`,
  };
}
