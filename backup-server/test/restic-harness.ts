// Shared by the front and ZFS specs: a key pair the "API" signs with, tokens, a restic runner
// that speaks to the front as a device would, and a file tree to back up.
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import type { AnyBackupTokenOp } from '@xspectre/contracts';
import { backupTokenKeyId, signBackupToken, type BackupTokenKey } from '@xspectre/contracts/backup-token';
import type { LogFields, Logger, LogLevel } from '../src/log.js';

export const RESTIC_PASSWORD = 'device-side-secret';

export function tokenAuthority() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = backupTokenKeyId(publicKey);
  const publicKeys: BackupTokenKey[] = [{ keyId: kid, publicKey }];
  const issue = (device: string, op: AnyBackupTokenOp, options: { iat?: number; lifetime?: number; keepImages?: number } = {}) => {
    const iat = options.iat ?? Math.floor(Date.now() / 1000);
    return signBackupToken(privateKey, kid, {
      iss: 'xspectre-api',
      aud: 'xspectre-backup',
      sub: device,
      op,
      iat,
      exp: iat + (options.lifetime ?? 600),
      jti: randomBytes(9).toString('base64url'),
      ...(options.keepImages === undefined ? {} : { keepImages: options.keepImages }),
    });
  };
  /** Signs any payload with the authority's key, past the claims schema (what a forged or future token would carry). */
  const issueRaw = (payload: Record<string, unknown>) => {
    const input = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${input}.${sign(null, Buffer.from(input, 'ascii'), privateKey).toString('base64url')}`;
  };
  return { publicKeys, issue, issueRaw };
}

export const newDevice = (): string => randomUUID();

export interface CapturedLog {
  lines: Array<{ level: LogLevel; msg: string; fields?: LogFields }>;
  logger: Logger;
  text(): string;
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  return { lines, logger: { log: (level, msg, fields) => lines.push({ level, msg, fields }) }, text: () => JSON.stringify(lines) };
}

export interface ResticRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** restic as the device runs it: `rest:http://<user>:<token>@127.0.0.1:<port>/<repoDevice>/`. */
export async function restic(
  port: number,
  auth: { user: string; token: string; repoDevice?: string },
  args: string[],
  timeoutMs = 150_000,
): Promise<ResticRun> {
  const result = await execa('restic', ['--no-cache', '--quiet', ...args], {
    env: {
      RESTIC_PASSWORD,
      RESTIC_REPOSITORY: `rest:http://${auth.user}:${auth.token}@127.0.0.1:${port}/${auth.repoDevice ?? auth.user}/`,
    },
    reject: false,
    timeout: timeoutMs,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export function must(run: ResticRun, what: string): string {
  if (run.exitCode !== 0) throw new Error(`${what} failed (${run.exitCode}): ${run.stderr.slice(0, 2000)}`);
  return run.stdout;
}

export async function snapshotIds(port: number, auth: { user: string; token: string }, extra: string[] = []): Promise<string[]> {
  const out = must(await restic(port, auth, ['snapshots', '--json', ...extra]), 'restic snapshots');
  return (JSON.parse(out) as Array<{ id: string }>).map((s) => s.id);
}

/** A small tree: text files and one random file of `randomBytes` bytes. */
export async function makeTree(dir: string, randomSize: number): Promise<void> {
  await mkdir(join(dir, 'etc', 'app'), { recursive: true });
  await writeFile(join(dir, 'etc', 'app', 'app.conf'), `setting = ${randomUUID()}\n`);
  await writeFile(join(dir, 'notes.txt'), 'nightly backup\n'.repeat(100));
  await writeFile(join(dir, 'blob.bin'), randomBytes(randomSize));
}

/** SHA-256 of every file under `dir`, by relative path. */
export async function treeDigest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile())
        out[relative(dir, path)] = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
    }
  };
  await walk(dir);
  return out;
}

/** Raw request to the front as device `user` with `token`. */
export async function raw(port: number, method: string, path: string, auth?: { user: string; token: string }, body?: string) {
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.token}`).toString('base64')}`;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body });
  return { status: res.status, text: await res.text() };
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** After server.stop(): the rclone children must be gone; any left is killed by PID and reported. */
export async function expectProcessesGone(pids: number[]): Promise<void> {
  for (let i = 0; i < 50 && pids.some(isAlive); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  const left = pids.filter(isAlive);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  if (left.length) throw new Error(`processes still running after stop (killed now): ${left.join(', ')}`);
}
