import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecoveryConf } from '@xspectre/contracts';
import { runProcess, type ProcessResult } from '../commands/run-process.js';

/**
 * The stick's WireGuard tunnel to the hub, from recovery.conf: interface `xs-recovery` (kernel
 * module, or wireguard-go when the module is missing), the private key handed to `wg` through a
 * 0600 file under /run (never on a command line), the overlay address, the hub as the only
 * peer (keepalive 25 s: the stick sits behind NAT), and routes for the allowed IPs. Every step
 * is idempotent (`replace`, `wg set`): running it again repairs a half-configured tunnel.
 */
export const TUNNEL_INTERFACE = 'xs-recovery';
export const KEEPALIVE_SECONDS = 25;
/** Niceness of a userspace tunnel (agent/bench/imaging.mjs measures the imaging pipeline beside it). */
export const WIREGUARD_GO_NICE = -10;

export type Runner = (file: string, args: readonly string[]) => Promise<ProcessResult>;
export const defaultRunner: Runner = (file, args) => runProcess(file, args, { timeoutMs: 30_000, maxBytes: 16 * 1024 });

export class TunnelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TunnelError';
  }
}

/** The configuration commands after the interface exists (argument arrays; no secret in any). */
export function tunnelCommands(conf: RecoveryConf, keyFile: string): Array<[string, string[]]> {
  const allowed = conf.XS_WG_ALLOWED_IPS.split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  return [
    [
      'wg',
      [
        'set',
        TUNNEL_INTERFACE,
        'private-key',
        keyFile,
        'peer',
        conf.XS_WG_HUB_PUBLIC_KEY,
        'endpoint',
        conf.XS_WG_HUB_ENDPOINT,
        'allowed-ips',
        allowed.join(','),
        'persistent-keepalive',
        String(KEEPALIVE_SECONDS),
      ],
    ],
    ['ip', ['address', 'replace', conf.XS_WG_ADDRESS, 'dev', TUNNEL_INTERFACE]],
    ['ip', ['link', 'set', TUNNEL_INTERFACE, 'up']],
    ...allowed.map((cidr): [string, string[]] => ['ip', ['route', 'replace', cidr, 'dev', TUNNEL_INTERFACE]]),
  ];
}

const failed = (r: ProcessResult) => r.error !== undefined || r.code !== 0;
const why = (r: ProcessResult) => (r.error ?? r.stderr.toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 300)) || `exit ${r.code}`;

/** Brings the tunnel up; returns how the interface was made (`kernel`, `wireguard-go`, or `existing`). */
export async function tunnelUp(
  conf: RecoveryConf,
  options: { runDir: string; run?: Runner },
): Promise<'kernel' | 'wireguard-go' | 'existing'> {
  const run = options.run ?? defaultRunner;
  let how: 'kernel' | 'wireguard-go' | 'existing' = 'existing';
  if (failed(await run('ip', ['link', 'show', 'dev', TUNNEL_INTERFACE]))) {
    const kernel = await run('ip', ['link', 'add', 'dev', TUNNEL_INTERFACE, 'type', 'wireguard']);
    if (!failed(kernel)) how = 'kernel';
    else {
      // No wireguard module in this kernel: the userspace implementation (it daemonises), at
      // the precedence the module's kernel workers have over user processes: imaging's zstd
      // and hashing must not starve the tunnel that carries the image and the commands.
      const userspace = await run('nice', ['-n', String(WIREGUARD_GO_NICE), 'wireguard-go', TUNNEL_INTERFACE]);
      if (failed(userspace))
        throw new TunnelError(`cannot create ${TUNNEL_INTERFACE}: kernel (${why(kernel)}), wireguard-go (${why(userspace)})`);
      how = 'wireguard-go';
    }
  }
  await mkdir(options.runDir, { recursive: true, mode: 0o700 });
  const keyFile = join(options.runDir, 'wg-private.key');
  await writeFile(keyFile, `${conf.XS_WG_PRIVATE_KEY}\n`, { mode: 0o600 });
  await chmod(keyFile, 0o600);
  for (const [file, args] of tunnelCommands(conf, keyFile)) {
    const result = await run(file, args);
    if (failed(result)) throw new TunnelError(`${file} ${args.slice(0, 2).join(' ')} failed: ${why(result)}`);
  }
  return how;
}
