import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';

/**
 * SHA-256 of a stream, computed in a `sha256sum` child when there is one: the image pipeline's
 * own thread then only moves buffers, and hashing runs on another core beside zstd (on a small
 * CPU, SHA-256 in the agent's thread costs as much as the compression). Falls back to
 * node:crypto in this thread when `sha256sum` cannot be started. Writes respect backpressure.
 */
export interface StreamHash {
  update(data: Buffer): Promise<void>;
  digest(): Promise<string>;
  /** Stops the child (after a failure); the digest is never asked. */
  abort(): void;
}

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

export async function streamHash(program: string | null = 'sha256sum'): Promise<StreamHash> {
  if (program === null) return inlineHash();
  const child = spawn(program, ['-b', '-'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const started = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!started) return inlineHash();
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
      if (!child.stdin.write(data)) {
        await new Promise<void>((resolve, reject) => {
          const closed = () => reject(new Error(`${program} closed its input`));
          child.stdin.once('close', closed);
          child.stdin.once('drain', () => {
            child.stdin.off('close', closed);
            resolve();
          });
        });
      }
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
