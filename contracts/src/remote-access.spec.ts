import { describe, expect, it } from 'vitest';
import {
  CreateTerminalSessionSchema,
  DeviceSshSetupSchema,
  RecoverySshSetupSchema,
  RemotePathSchema,
  SshEd25519PublicKeySchema,
  recoveryPrincipalOf,
  sshPrincipalOf,
} from './remote-access.js';
import { RecoveryRegisterSchema } from './recovery.js';

describe('RemotePathSchema', () => {
  it.each(['/', '/etc', '/etc/ssh/sshd_config', '/var/lib/gvm/ä ö ü', '/a b/c.d', '/.hidden'])('accepts %j', (path) => {
    expect(RemotePathSchema.safeParse(path).success).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['etc/passwd', 'relative'],
    ['/etc/../root', 'a .. segment'],
    ['/etc/./passwd', 'a . segment'],
    ['/etc//passwd', 'an empty segment'],
    ['/etc/', 'a trailing slash'],
    ['/tmp/a\u0000b', 'NUL'],
    ['/tmp/a\nb', 'a newline'],
    ['/tmp/a\u007fb', 'DEL'],
    [`/${'x'.repeat(256)}`, 'a name over 255 bytes'],
    [`/${'abcdefgh/'.repeat(460)}x`, 'a path over 4096 bytes'],
  ])('refuses %j (%s)', (path) => {
    expect(RemotePathSchema.safeParse(path).success).toBe(false);
  });
});

describe('device SSH setup', () => {
  it('names each device its own principal', () => {
    const id = '2f1b8a4e-0c6d-4b7a-9e3f-1a2b3c4d5e6f';
    expect(sshPrincipalOf(id)).toBe(`xspectre-device-${id}`);
    const key = `ssh-ed25519 ${'A'.repeat(68)} xspectre-user-ca`;
    expect(DeviceSshSetupSchema.parse({ userCaPublicKey: key, principal: sshPrincipalOf(id), account: 'xspectre-ops' }).account).toBe(
      'xspectre-ops',
    );
  });

  it('takes only ssh-ed25519 public key lines as the CA', () => {
    expect(SshEd25519PublicKeySchema.safeParse(`ssh-rsa ${'A'.repeat(68)}`).success).toBe(false);
    expect(SshEd25519PublicKeySchema.safeParse(`ssh-ed25519 ${'A'.repeat(68)}\nssh-ed25519 ${'A'.repeat(68)}`).success).toBe(false);
  });
});

describe('recovery shell', () => {
  const mediumId = '7c0e2d1a-3b4f-4a5e-8d9c-0b1a2c3d4e5f';
  const key = `ssh-ed25519 ${'A'.repeat(68)}`;

  it("names each stick its own principal, never a device's, and logs in as root", () => {
    expect(recoveryPrincipalOf(mediumId)).toBe(`xspectre-recovery-${mediumId}`);
    expect(
      RecoverySshSetupSchema.safeParse({ userCaPublicKey: key, principal: recoveryPrincipalOf(mediumId), account: 'root' }).success,
    ).toBe(true);
    expect(RecoverySshSetupSchema.safeParse({ userCaPublicKey: key, principal: sshPrincipalOf(mediumId), account: 'root' }).success).toBe(
      false,
    );
    expect(
      RecoverySshSetupSchema.safeParse({ userCaPublicKey: key, principal: recoveryPrincipalOf(mediumId), account: 'xspectre-ops' }).success,
    ).toBe(false);
  });

  it('terminal sessions default to the device; recovery is the only other target', () => {
    expect(CreateTerminalSessionSchema.parse({})).toEqual({ cols: 80, rows: 24, target: 'device' });
    expect(CreateTerminalSessionSchema.parse({ target: 'recovery' }).target).toBe('recovery');
    expect(CreateTerminalSessionSchema.safeParse({ target: 'host' }).success).toBe(false);
  });

  it('the registration carries an optional ed25519 host key (absent or null: no shell)', () => {
    const base = {
      bootId: '0d6f1c2b-4a3e-4f5d-9c8b-7a6e5d4c3b2a',
      agentVersion: '1.0.0',
      recipeHash: null,
      kernel: null,
      hardware: { firmware: 'uefi', cpuModel: null, cpus: 1, memoryBytes: 1, disks: [], nics: [] },
    };
    expect(RecoveryRegisterSchema.safeParse(base).success).toBe(true);
    expect(RecoveryRegisterSchema.safeParse({ ...base, sshHostKey: null }).success).toBe(true);
    expect(RecoveryRegisterSchema.safeParse({ ...base, sshHostKey: `${key} xspectre-recovery` }).success).toBe(true);
    expect(RecoveryRegisterSchema.safeParse({ ...base, sshHostKey: `${key}\nssh-ed25519 ${'B'.repeat(68)}` }).success).toBe(false);
    expect(RecoveryRegisterSchema.safeParse({ ...base, sshHostKey: 'ssh-rsa AAAAB3NzaC1yc2E' }).success).toBe(false);
  });
});
