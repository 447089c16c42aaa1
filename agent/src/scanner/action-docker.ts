import { httpModule } from '../builtins.js';

/**
 * The Engine API calls the scanner actions need beyond docker-actions.ts' bodiless POST: JSON
 * bodies, DELETE, the exec stream and the image pull stream. Every answer is bounded; nothing
 * here starts a process or a shell.
 */
export const ENGINE_TIMEOUT_MS = 180_000;
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface EngineAnswer {
  status: number;
  body: Buffer;
  /** More arrived than kept. */
  cut: boolean;
}

export function engineRequest(
  socketPath: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  options: { timeoutMs?: number; maxBytes?: number; keepTail?: boolean } = {},
): Promise<EngineAnswer> {
  const timeoutMs = options.timeoutMs ?? ENGINE_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? MAX_ANSWER_BYTES;
  const payload = body === undefined ? null : Buffer.from(JSON.stringify(body), 'utf8');
  return new Promise((resolve, reject) => {
    const req = httpModule().request(
      {
        socketPath,
        path,
        method,
        headers: {
          host: 'docker',
          'content-length': String(payload?.length ?? 0),
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let cut = false;
        res.on('data', (chunk: Buffer) => {
          if (options.keepTail) {
            // A stream whose verdict comes last (the pull's): drop the oldest bytes instead.
            chunks.push(chunk);
            size += chunk.length;
            while (size > maxBytes && chunks.length > 1) {
              size -= chunks.shift()!.length;
              cut = true;
            }
            return;
          }
          const room = maxBytes - size;
          if (chunk.length > room) cut = true;
          if (room > 0) chunks.push(chunk.subarray(0, room));
          size += Math.min(room, chunk.length);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), cut }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(
        new Error(`no answer from the Docker engine to ${method} ${path.split('?')[0]} within ${Math.round(timeoutMs / 1000)} s`),
      ),
    );
    req.on('error', reject);
    req.end(payload ?? undefined);
  });
}

/** The engine's `{"message": …}` of a failed call, else the start of the body; bounded and one line. */
export function engineMessage(answer: EngineAnswer): string {
  const text = answer.body.toString('utf8');
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: the body as it is
  }
  return message.replace(/\s+/g, ' ').slice(0, 300);
}

export class EngineError extends Error {
  constructor(
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** A call that must answer 2xx: its JSON (or null for an empty body), else an EngineError with the engine's message. */
export async function engineJson(
  socketPath: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  what = `${method} ${path.split('?')[0]}`,
): Promise<unknown> {
  const answer = await engineRequest(socketPath, method, path, body);
  if (answer.status < 200 || answer.status >= 300)
    throw new EngineError(`${what}: Docker engine answered HTTP ${answer.status}: ${engineMessage(answer)}`, answer.status);
  const text = answer.body.toString('utf8').trim();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new EngineError(`${what}: the Docker engine did not answer JSON`);
  }
}

export interface Demuxed {
  stdout: Buffer;
  stderr: Buffer;
  /** Bytes after the last whole frame (a stream cut short). */
  rest: number;
}

/**
 * The engine's multiplexed stream of a non-TTY exec: frames of an 8-byte header (stream type:
 * 1 stdout, 2 stderr; 3 zero bytes; a big-endian 32-bit length) and that many bytes. Stdin (0)
 * frames and unknown types are dropped; a cut last frame is counted in `rest`, not guessed at.
 */
export function demuxDockerStream(data: Buffer): Demuxed {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let at = 0;
  while (data.length - at >= 8) {
    const type = data[at]!;
    const length = data.readUInt32BE(at + 4);
    if (data.length - at - 8 < length) break;
    const payload = data.subarray(at + 8, at + 8 + length);
    if (type === 1) out.push(payload);
    else if (type === 2) err.push(payload);
    at += 8 + length;
  }
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), rest: data.length - at };
}

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `docker exec` through the Engine API: create the exec (an argument array, never a shell
 * string), start it attached, read the multiplexed output, then ask its exit code.
 */
export async function engineExec(
  socketPath: string,
  containerId: string,
  cmd: readonly string[],
  options: { user?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const created = (await engineJson(
    socketPath,
    'POST',
    `/containers/${encodeURIComponent(containerId)}/exec`,
    { AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false, Cmd: cmd, ...(options.user ? { User: options.user } : {}) },
    'create the exec',
  )) as { Id?: unknown } | null;
  const id = typeof created?.Id === 'string' ? created.Id : null;
  if (id === null) throw new EngineError('create the exec: the Docker engine answered no exec id');
  const started = await engineRequest(
    socketPath,
    'POST',
    `/exec/${encodeURIComponent(id)}/start`,
    { Detach: false, Tty: false },
    { timeoutMs: options.timeoutMs ?? ENGINE_TIMEOUT_MS, maxBytes: 256 * 1024 },
  );
  if (started.status !== 200)
    throw new EngineError(`start the exec: Docker engine answered HTTP ${started.status}: ${engineMessage(started)}`, started.status);
  const { stdout, stderr } = demuxDockerStream(started.body);
  const inspected = (await engineJson(socketPath, 'GET', `/exec/${encodeURIComponent(id)}/json`, undefined, 'inspect the exec')) as {
    ExitCode?: unknown;
    Running?: unknown;
  } | null;
  const exitCode = inspected?.Running !== true && typeof inspected?.ExitCode === 'number' ? inspected.ExitCode : null;
  return { exitCode, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') };
}

export type PullOutcome = { ok: true } | { ok: false; error: string };

/**
 * The answer of `POST /images/create`: JSON lines of progress. The engine answers 200 before it
 * knows whether the pull works, so a failure is a line with `error` (or `errorDetail`), not the
 * status; the last such line is the reason.
 */
export function parsePullStream(text: string): PullOutcome {
  let error: string | null = null;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      continue; // a line cut by the bound: progress, never the verdict
    }
    const entry = (parsed ?? {}) as { error?: unknown; errorDetail?: { message?: unknown } };
    const message =
      typeof entry.error === 'string' ? entry.error : typeof entry.errorDetail?.message === 'string' ? entry.errorDetail.message : null;
    if (message !== null) error = message.replace(/\s+/g, ' ').slice(0, 300);
  }
  return error === null ? { ok: true } : { ok: false, error };
}

/** `repo[:tag]` (a registry port is not a tag; a digest reference is pulled by its digest). */
export function splitImageReference(reference: string): { fromImage: string; tag: string } {
  const at = reference.indexOf('@');
  if (at >= 0) return { fromImage: reference.slice(0, at), tag: reference.slice(at + 1) };
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return { fromImage: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { fromImage: reference, tag: 'latest' };
}

export async function pullImage(socketPath: string, reference: string, timeoutMs = 15 * 60_000): Promise<PullOutcome> {
  const { fromImage, tag } = splitImageReference(reference);
  const answer = await engineRequest(
    socketPath,
    'POST',
    `/images/create?fromImage=${encodeURIComponent(fromImage)}&tag=${encodeURIComponent(tag)}`,
    undefined,
    { timeoutMs, maxBytes: 1024 * 1024, keepTail: true },
  );
  if (answer.status !== 200) return { ok: false, error: `HTTP ${answer.status}: ${engineMessage(answer)}` };
  return parsePullStream(answer.body.toString('utf8'));
}
