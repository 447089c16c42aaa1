/** Runs the built agent (`node agent/dist/main.js`) as a child process, for protocol-level tests. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const agentDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(agentDir, '..');
const agentMain = join(agentDir, 'dist', 'main.js');
/** The flags the executable carries (its SEA execArgv), so the tests run the agent as it ships. */
const nodeFlags = JSON.parse(readFileSync(join(agentDir, 'node-flags.json'), 'utf8')) as string[];

/** A WireGuard test vector (private → public, from the WireGuard documentation) and an SSH host key. */
export const PRIVATE_KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
export const PUBLIC_KEY = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';
export const SSH_HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq8hMkn4mGqL0jJpRkvZcbQn8gZ5Qe2Zs8G2gq3vJ4y root@device';

export interface AgentResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningAgent {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exited: Promise<AgentResult>;
}

const children = new Set<ChildProcess>();

/** Builds the agent (incremental, quick when up to date). */
export function buildAgent(): void {
  execFileSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'agent'], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
}

/** Starts the agent (with the executable's Node.js flags) with only PATH and `env` in its environment. */
export function startAgent(args: string[], env: Record<string, string> = {}): RunningAgent {
  const child = spawn(process.execPath, [...nodeFlags, agentMain, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<AgentResult>((done) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      done({ code, signal, stdout, stderr });
    }),
  );
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** Kills every agent a test left running. */
export function killAgents(): void {
  for (const child of children) child.kill('SIGKILL');
}

export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
