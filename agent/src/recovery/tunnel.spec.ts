import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryConf } from '@xspectre/contracts';
import type { ProcessResult } from '../commands/run-process.js';
import { tunnelUp, type Runner } from './tunnel.js';

const conf = {
  XS_WG_PRIVATE_KEY: 'cHJpdmF0ZS1rZXktcHJpdmF0ZS1rZXktcHJpdmF0ZTE=',
  XS_WG_HUB_PUBLIC_KEY: 'aHViLXB1YmxpYy1rZXktaHViLXB1YmxpYy1rZXktaHU=',
  XS_WG_HUB_ENDPOINT: 'hub.example.com:51820',
  XS_WG_ALLOWED_IPS: '10.10.0.0/16, 10.20.0.0/24',
  XS_WG_ADDRESS: '10.10.0.240/32',
} as RecoveryConf;

const ok: ProcessResult = { code: 0, signal: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), stdoutCut: false, stderrCut: false };
const fail = (stderr: string): ProcessResult => ({ ...ok, code: 1, stderr: Buffer.from(stderr) });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xs-tunnel-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function recorder(answers: Record<string, ProcessResult> = {}) {
  const calls: string[][] = [];
  const run: Runner = async (file, args) => {
    calls.push([file, ...args]);
    return answers[[file, ...args.slice(0, 2)].join(' ')] ?? ok;
  };
  return { calls, run };
}

describe('tunnelUp', () => {
  it('creates the interface with the kernel module, passes the key through a 0600 file, sets address, peer and routes', async () => {
    const { calls, run } = recorder({ 'ip link show': fail('Device "xs-recovery" does not exist.') });
    expect(await tunnelUp(conf, { runDir: dir, run })).toBe('kernel');
    const keyFile = join(dir, 'wg-private.key');
    expect(calls).toEqual([
      ['ip', 'link', 'show', 'dev', 'xs-recovery'],
      ['ip', 'link', 'add', 'dev', 'xs-recovery', 'type', 'wireguard'],
      [
        'wg',
        'set',
        'xs-recovery',
        'private-key',
        keyFile,
        'peer',
        conf.XS_WG_HUB_PUBLIC_KEY,
        'endpoint',
        'hub.example.com:51820',
        'allowed-ips',
        '10.10.0.0/16,10.20.0.0/24',
        'persistent-keepalive',
        '25',
      ],
      ['ip', 'address', 'replace', '10.10.0.240/32', 'dev', 'xs-recovery'],
      ['ip', 'link', 'set', 'xs-recovery', 'up'],
      ['ip', 'route', 'replace', '10.10.0.0/16', 'dev', 'xs-recovery'],
      ['ip', 'route', 'replace', '10.20.0.0/24', 'dev', 'xs-recovery'],
    ]);
    expect(calls.flat().join(' ')).not.toContain(conf.XS_WG_PRIVATE_KEY);
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(conf.XS_WG_PRIVATE_KEY);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
  });

  it('falls back to wireguard-go without the kernel module, and reuses an existing interface', async () => {
    const missing = recorder({ 'ip link show': fail('no device'), 'ip link add': fail('Error: Unknown device type.') });
    expect(await tunnelUp(conf, { runDir: dir, run: missing.run })).toBe('wireguard-go');
    expect(missing.calls[2]).toEqual(['nice', '-n', '-10', 'wireguard-go', 'xs-recovery']);
    const again = recorder();
    expect(await tunnelUp(conf, { runDir: dir, run: again.run })).toBe('existing');
    expect(again.calls.map((c) => c.slice(0, 3).join(' '))).not.toContain('ip link add');
  });

  it('names the step that failed', async () => {
    const broken = recorder({
      'ip link show': fail('no'),
      'ip link add': fail('Unknown device type'),
      'nice -n -10': fail('no tun'),
    });
    await expect(tunnelUp(conf, { runDir: dir, run: broken.run })).rejects.toThrow(
      /cannot create xs-recovery: kernel \(Unknown device type\), wireguard-go \(no tun\)/,
    );
    const wg = recorder({ 'wg set xs-recovery': fail('Invalid endpoint') });
    await expect(tunnelUp(conf, { runDir: dir, run: wg.run })).rejects.toThrow(/wg set xs-recovery failed: Invalid endpoint/);
  });
});
