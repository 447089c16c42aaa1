import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';

const RENDER = new URL('../../../infra/proxy/render.mjs', import.meta.url).pathname;

export interface TestCaddy {
  /** What Caddy printed so far. */
  log(): string;
  /** SIGTERM, then waits for the exit; nothing when it already exited. */
  stop(): Promise<void>;
}

/**
 * The real Caddy (Debian's package) configured by infra/proxy/render.mjs from `settings`, with
 * its own HOME and XDG dirs under `dir` (nothing of the machine's caddy service is read or
 * written). Resolves once `ready` (a TLS handshake of the caller's) succeeds; fails with
 * Caddy's output when it exits or does not come up.
 */
export async function startTestCaddy(dir: string, settings: unknown, ready: () => Promise<unknown>): Promise<TestCaddy> {
  await writeFile(join(dir, 'proxy.json'), JSON.stringify(settings));
  const rendered = spawnSync(process.execPath, [RENDER, '--config', join(dir, 'proxy.json'), '--out', join(dir, 'Caddyfile')], {
    encoding: 'utf8',
  });
  expect(rendered.stderr).toBe('');
  expect(rendered.status).toBe(0);

  const caddy = spawn('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  caddy.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  caddy.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const stop = async () => {
    if (caddy.exitCode !== null || caddy.signalCode !== null) return;
    const exited = new Promise((done) => caddy.once('exit', done));
    caddy.kill('SIGTERM');
    await exited;
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await ready();
      break;
    } catch (error) {
      if (attempt >= 100 || caddy.exitCode !== null) {
        await stop();
        throw new Error(`caddy did not come up: ${String(error)}\n${output}`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { log: () => output, stop };
}
