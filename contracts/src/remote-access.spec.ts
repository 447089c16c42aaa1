import { describe, expect, it } from 'vitest';
import { RemotePathSchema, SshEd25519PublicKeySchema, sshPrincipalOf, DeviceSshSetupSchema } from './remote-access.js';

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
