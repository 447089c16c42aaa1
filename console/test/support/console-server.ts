import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `npm test` builds the console first; a lone `npx vitest run console/` builds it when it is missing. */
export async function ensureConsoleBuilt(): Promise<void> {
  if (existsSync(join(CONSOLE_DIR, '.next', 'BUILD_ID'))) return;
  execFileSync('npx', ['next', 'build'], { cwd: CONSOLE_DIR, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }, stdio: 'inherit' });
}

/** The built console (server.mjs, production mode) on `port`, proxying /api to `apiUrl`. */
export class ConsoleServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly output: () => string,
  ) {}

  /** `env` adds settings; CONSOLE_TRUST_PROXY defaults to none here: the browser is the direct client. */
  static async start(port: number, apiUrl: string, env: Record<string, string> = {}): Promise<ConsoleServer> {
    let output = '';
    const child = spawn(process.execPath, [join(CONSOLE_DIR, 'server.mjs')], {
      cwd: CONSOLE_DIR,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: String(port),
        API_URL: apiUrl,
        CONSOLE_HOST: '127.0.0.1',
        NEXT_TELEMETRY_DISABLED: '1',
        CONSOLE_TRUST_PROXY: 'none',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c) => (output += c));
    child.stderr!.on('data', (c) => (output += c));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the console exited (${child.exitCode}):\n${output}`);
      try {
        const r = await fetch(`${url}/sign-in`);
        if (r.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`the console did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return new ConsoleServer(child, url, () => output);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}
