import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { AgentError, ExitCode } from './errors.js';

/**
 * One `run` per state directory: two agents on one directory would hand out the same sequence
 * numbers (the API keeps the first, the other's heartbeats vanish) and interleave journal writes.
 *
 * The lock is a listening socket in Linux's abstract namespace, named after the directory. The
 * kernel releases it when the process dies however it dies, so a crash or a reboot never leaves
 * a stale lock, and a recycled pid can never be mistaken for a running agent (a pid file could).
 * Abstract names are per network namespace: agents in different namespaces sharing one
 * directory are not seen by each other (not a layout we ship).
 */
export async function lockStateDirectory(stateDir: string): Promise<{ release: () => Promise<void> }> {
  const name = await lockName(stateDir);
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((done, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE')
        fail(new AgentError(ExitCode.ALREADY_RUNNING, `another xspectre-agent is already running on ${stateDir}`));
      else fail(new AgentError(ExitCode.LOCAL_ERROR, `cannot lock ${stateDir}: ${error.message}`));
    });
    server.listen({ path: name, exclusive: true }, () => done());
  });
  // The lock must not keep the process alive on its own.
  server.unref();
  return { release: () => close(server) };
}

async function lockName(stateDir: string): Promise<string> {
  // The same directory reached through a symlink or a relative path is the same lock.
  const canonical = await realpath(stateDir).catch(() => resolve(stateDir));
  return `\0xspectre-agent/${createHash('sha256').update(canonical).digest('hex').slice(0, 32)}`;
}

function close(server: Server): Promise<void> {
  return new Promise((done) => server.close(() => done()));
}
