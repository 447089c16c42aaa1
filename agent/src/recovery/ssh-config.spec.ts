import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoveryPrincipalOf } from '@xspectre/contracts';
import type { ProcessResult } from '../commands/run-process.js';
import {
  checkRecoverySshSetup,
  listenAddressOf,
  parseEd25519PublicKey,
  recoverySshPaths,
  renderRecoveryPrincipals,
  renderRecoverySshdConfig,
  RecoverySshConfigError,
} from './ssh-config.js';
import { RecoveryShell } from './ssh-server.js';

const MEDIUM = '3f1c2b7e-1d2a-4c8b-9e5f-0a1b2c3d4e5f';
const CA = `ssh-ed25519 ${'A'.repeat(68)}`;
const setup = { userCaPublicKey: CA, principal: recoveryPrincipalOf(MEDIUM), account: 'root' };

const directives = (config: string) =>
  config
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(' ')[0]);
const value = (config: string, key: string) =>
  config
    .split('\n')
    .find((l) => l.startsWith(`${key} `))
    ?.slice(key.length + 1);

describe('recovery sshd config', () => {
  const paths = recoverySshPaths('/run/xspectre-recovery');

  it('listens on the overlay address only, root by certificate of the user CA for the stick principal only', () => {
    const config = renderRecoverySshdConfig('10.10.0.240/32', paths);
    expect(value(config, 'ListenAddress')).toBe('10.10.0.240:22');
    expect(config.match(/^ListenAddress /gm)).toHaveLength(1);
    expect(value(config, 'HostKey')).toBe('/run/xspectre-recovery/ssh/ssh_host_ed25519_key');
    expect(value(config, 'TrustedUserCAKeys')).toBe('/run/xspectre-recovery/ssh/user_ca.pub');
    expect(value(config, 'AuthorizedPrincipalsFile')).toBe('/run/xspectre-recovery/ssh/principals');
    expect(value(config, 'AuthorizedKeysFile')).toBe('none');
    expect(value(config, 'PermitRootLogin')).toBe('prohibit-password');
    expect(value(config, 'PasswordAuthentication')).toBe('no');
    expect(value(config, 'KbdInteractiveAuthentication')).toBe('no');
    expect(value(config, 'AuthenticationMethods')).toBe('publickey');
    expect(value(config, 'AllowUsers')).toBe('root');
    for (const off of ['AllowTcpForwarding', 'AllowAgentForwarding', 'X11Forwarding', 'PermitTunnel', 'PermitUserEnvironment'])
      expect(value(config, off)).toBe('no');
    // Each directive once: sshd takes the first value, so a duplicate would be a trap.
    const seen = directives(config);
    expect(new Set(seen).size).toBe(seen.length);
    expect(config).not.toMatch(/Match|Include|Subsystem|ForceCommand/);
  });

  it('accepts the address with or without /32, refuses anything else', () => {
    expect(listenAddressOf('10.10.0.240')).toBe('10.10.0.240');
    expect(listenAddressOf('10.10.0.240/32')).toBe('10.10.0.240');
    for (const bad of ['0.0.0.0/0', '10.10.0.256/32', '10.10.0.240/24', '::', '10.10.0.240\nPermitRootLogin yes', '10.10.0.240 2222', ''])
      expect(() => listenAddressOf(bad)).toThrow(RecoverySshConfigError);
  });

  it('refuses paths that would not be one sshd_config token (hostile run directory)', () => {
    for (const runDir of ['relative/run', '/run/with space', '/run/x\nPermitRootLogin yes', '/run/"q"', '/run/#c', '/run/t\tab'])
      expect(() => renderRecoverySshdConfig('10.10.0.240/32', recoverySshPaths(runDir)), runDir).toThrow(RecoverySshConfigError);
  });

  it("takes the API's setup only for this stick's principal, root, an ed25519 CA key", () => {
    expect(checkRecoverySshSetup(setup, MEDIUM)).toEqual(setup);
    expect(renderRecoveryPrincipals(checkRecoverySshSetup(setup, MEDIUM))).toBe(`xspectre-recovery-${MEDIUM}\n`);
    const other = { ...setup, principal: recoveryPrincipalOf('00000000-0000-4000-8000-000000000000') };
    expect(() => checkRecoverySshSetup(other, MEDIUM)).toThrow(/another stick/);
    for (const bad of [
      { ...setup, account: 'xspectre-ops' },
      { ...setup, principal: `xspectre-device-${MEDIUM}` },
      { ...setup, principal: `${setup.principal}\nxspectre-device-${MEDIUM}` },
      { ...setup, userCaPublicKey: `${CA}\nssh-ed25519 ${'B'.repeat(68)}` },
      { ...setup, userCaPublicKey: 'ssh-rsa AAAAB3NzaC1yc2E' },
      null,
      'x',
    ])
      expect(() => checkRecoverySshSetup(bad, MEDIUM)).toThrow(RecoverySshConfigError);
  });

  it('reads only an ed25519 public key line from ssh-keygen', () => {
    expect(parseEd25519PublicKey(`${CA} xspectre-recovery\n`)).toBe(CA);
    expect(parseEd25519PublicKey('ssh-rsa AAAAB3NzaC1yc2E comment')).toBeNull();
    expect(parseEd25519PublicKey('')).toBeNull();
    expect(parseEd25519PublicKey(`ssh-ed25519 ${'A'.repeat(67)}!`)).toBeNull();
  });
});

describe('recovery shell host key', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-rshell-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const ok: ProcessResult = { code: 0, signal: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), stdoutCut: false, stderrCut: false };

  it('without sshd the shell is unavailable and ssh-keygen never runs', async () => {
    const calls: string[] = [];
    const shell = new RecoveryShell({
      runDir: dir,
      sshd: join(dir, 'no-sshd'),
      say: () => undefined,
      run: async (file) => (calls.push(file), ok),
    });
    expect(await shell.prepareHostKey()).toEqual({ hostKey: null, reason: expect.stringContaining('no OpenSSH server') });
    expect(calls).toEqual([]);
  });

  it('generates a fresh ed25519 host key into <runDir>/ssh (0700) with argument arrays', async () => {
    const calls: Array<[string, readonly string[]]> = [];
    const shell = new RecoveryShell({
      runDir: dir,
      sshd: '/bin/true',
      sshKeygen: '/bin/true',
      say: () => undefined,
      run: async (file, args) => {
        calls.push([file, args]);
        const { writeFile } = await import('node:fs/promises');
        await writeFile(`${args.at(-1)}.pub`, `${CA} xspectre-recovery\n`);
        return ok;
      },
    });
    expect(await shell.prepareHostKey()).toEqual({ hostKey: CA });
    expect(calls).toEqual([
      ['/bin/true', ['-q', '-t', 'ed25519', '-N', '', '-C', 'xspectre-recovery', '-f', join(dir, 'ssh', 'ssh_host_ed25519_key')]],
    ]);
    expect((await stat(join(dir, 'ssh'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(dir, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8')).toContain(CA);
  });

  it('a failing ssh-keygen makes the shell unavailable with its message', async () => {
    const shell = new RecoveryShell({
      runDir: dir,
      sshd: '/bin/true',
      sshKeygen: '/bin/true',
      say: () => undefined,
      run: async () => ({ ...ok, code: 1, stderr: Buffer.from('Saving key failed: read-only file system') }),
    });
    expect(await shell.prepareHostKey()).toEqual({ hostKey: null, reason: 'ssh-keygen failed: Saving key failed: read-only file system' });
  });
});
