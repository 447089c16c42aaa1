import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of a stream, computed off the image pipeline's thread so hashing runs on another core
 * beside zstd:
 * - `worker` (default): node:crypto (OpenSSL, which uses the CPU's SHA extensions where there
 *   are some) in a worker thread; measured here about 3× less CPU per byte than coreutils'
 *   `sha256sum`, which has no SHA-NI path. A buffer on a SharedArrayBuffer (`sharedBuffer`) is
 *   hashed in place; any other buffer is copied for the worker;
 * - `sha256sum`: a `sha256sum` child (kept for a CPU where OpenSSL is the slower one);
 * - `inline`: node:crypto in this thread.
 * A worker or child that cannot start falls back to `inline`. Writes respect backpressure.
 */
export interface StreamHash {
  /** Resolves when `data` may be changed again (hashed, copied or written) and the queue has room. */
  update(data: Buffer): Promise<void>;
  digest(): Promise<string>;
  /** Stops the worker or child (after a failure); the digest is never asked. */
  abort(): void;
}

/**
 * A buffer the pipeline reuses (read blocks, upload chunks). Fresh large buffers are costly: each
 * one is new pages to fault in (a 32 MiB buffer copied in is ~4× slower than into a reused one,
 * measured on the lab VM), and shared memory lets the hashing worker read it without a copy.
 */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

export type HashMode = 'worker' | 'sha256sum' | 'inline';

export function inlineHash(): StreamHash {
  const hash = createHash('sha256');
  return {
    update: async (data) => {
      hash.update(data);
    },
    digest: async () => hash.digest('hex'),
    abort: () => undefined,
  };
}

export async function streamHash(mode: HashMode = 'worker', program = 'sha256sum'): Promise<StreamHash> {
  if (mode === 'inline') return inlineHash();
  return (mode === 'worker' ? await workerHash() : await childHash(program)) ?? inlineHash();
}

// Evaluated as a CommonJS script (works inside the single executable too: no file to find).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (m) => {
  if (m === null) parentPort.postMessage({ digest: hash.digest('hex') });
  else { hash.update(m); parentPort.postMessage({ hashed: m.byteLength }); }
});`;

/** Bytes handed to the worker and not hashed yet before `update` waits. */
const WORKER_QUEUE_BYTES = 16 * 1024 * 1024;

async function workerHash(): Promise<StreamHash | null> {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true });
  } catch {
    return null;
  }
  const online = await new Promise<boolean>((resolve) => {
    worker.once('online', () => resolve(true));
    worker.once('error', () => resolve(false));
  });
  if (!online) return null;
  // One entry per posted message, in order (the worker answers in order); a shared buffer's
  // caller waits for its entry's answer, a copied one's only for room in the queue.
  const posted: { bytes: number; hashed?: () => void; failed?: (err: Error) => void }[] = [];
  let queued = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let onDigest: ((hex: string) => void) | undefined;
  worker.on('message', (m: { hashed?: number; digest?: string }) => {
    if (m.digest !== undefined) return onDigest?.(m.digest);
    const entry = posted.shift();
    queued -= entry?.bytes ?? 0;
    entry?.hashed?.();
    if (queued <= WORKER_QUEUE_BYTES) wake?.();
  });
  const gone = (err: Error) => {
    failure ??= err;
    for (const entry of posted.splice(0)) entry.failed?.(hashingFailed(failure));
    wake?.();
  };
  const hashingFailed = (err: Error) => new Error(`hashing failed: ${err.message}`);
  const check = () => {
    if (failure) throw hashingFailed(failure);
  };
  worker.on('error', gone);
  worker.on('exit', () => gone(new Error('the hashing thread stopped')));
  return {
    async update(data) {
      check();
      if (data.buffer instanceof SharedArrayBuffer) {
        // The worker reads the caller's memory: the caller may change it once this is hashed.
        await new Promise<void>((hashed, failed) => {
          posted.push({ bytes: data.byteLength, hashed, failed });
          queued += data.byteLength;
          worker.postMessage(data);
        });
        return;
      }
      // A copy the worker owns: the caller's buffer may still be being written to zstd.
      const copy = new Uint8Array(data.byteLength);
      copy.set(data);
      posted.push({ bytes: copy.byteLength });
      queued += copy.byteLength;
      worker.postMessage(copy, [copy.buffer]);
      while (queued > WORKER_QUEUE_BYTES && !failure) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      check();
    },
    async digest() {
      check();
      const hex = await new Promise<string>((resolve, reject) => {
        onDigest = resolve;
        worker.once('error', reject);
        worker.postMessage(null);
      });
      await worker.terminate();
      return hex;
    },
    abort() {
      gone(new Error('aborted'));
      void worker.terminate();
    },
  };
}

async function childHash(program: string): Promise<StreamHash | null> {
  const child = spawn(program, ['-b', '-'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const started = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!started) return null;
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    if (out.length < 4096) out += c.toString('utf8');
  });
  let failure: Error | undefined;
  child.stdin.on('error', (err) => {
    failure ??= err;
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    async update(data) {
      if (failure) throw new Error(`${program} failed: ${failure.message}`);
      // Until the write's callback the pipe holds the caller's memory, not a copy.
      await new Promise<void>((resolve, reject) => {
        child.stdin.write(data, (err) => (err ? reject(new Error(`${program} failed: ${err.message}`)) : resolve()));
      });
    },
    async digest() {
      child.stdin.end();
      const code = await exit;
      const hex = /^([0-9a-f]{64})\b/.exec(out)?.[1];
      if (code !== 0 || !hex) throw new Error(`${program} gave no SHA-256 (exit ${code})`);
      return hex;
    },
    abort() {
      child.kill('SIGKILL');
    },
  };
}
