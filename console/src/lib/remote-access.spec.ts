import { describe, expect, it } from 'vitest';
import {
  AckCounter,
  breadcrumbs,
  joinPath,
  modeOctal,
  modeString,
  nameProblem,
  parentOf,
  parseAsciicast,
  parseMode,
  parseResize,
  recoveryShellRefusal,
  remoteAccessRefusal,
} from './remote-access';

describe('remote access helpers', () => {
  it('show modes as ls does, with the octal', () => {
    expect(modeString(0o644)).toBe('-rw-r--r--');
    expect(modeString(0o755, 'directory')).toBe('drwxr-xr-x');
    expect(modeString(0o4755)).toBe('-rwsr-xr-x');
    expect(modeString(0o1777, 'directory')).toBe('drwxrwxrwt');
    expect(modeString(0o2644)).toBe('-rw-r-Sr--');
    expect(modeOctal(0o644)).toBe('0644');
    expect(parseMode('755')).toBe(0o755);
    expect(parseMode('0640')).toBe(0o640);
    expect(parseMode('8')).toBeNull();
    expect(parseMode('rwx')).toBeNull();
  });

  it('build paths and breadcrumbs without . or ..', () => {
    expect(joinPath('/', 'etc')).toBe('/etc');
    expect(joinPath('/etc', 'ssh')).toBe('/etc/ssh');
    expect(parentOf('/etc/ssh')).toBe('/etc');
    expect(parentOf('/etc')).toBe('/');
    expect(parentOf('/')).toBe('/');
    expect(breadcrumbs('/etc/ssh').map((c) => c.path)).toEqual(['/', '/etc', '/etc/ssh']);
    expect(nameProblem('ok.txt')).toBeNull();
    expect(nameProblem('..')).not.toBeNull();
    expect(nameProblem('a/b')).not.toBeNull();
    expect(nameProblem('a\nb')).not.toBeNull();
    expect(nameProblem('a\u0000b')).not.toBeNull();
  });

  it('refuse read-only roles, internal devices for SOC operators, quarantined and inactive devices', () => {
    const active = { status: 'active', quarantine: null };
    expect(remoteAccessRefusal('read_only', false, 'customer', active)).toMatch(/devices.manage/);
    expect(remoteAccessRefusal('soc_operator', true, 'internal', active)).toMatch(/Super Admins/);
    expect(remoteAccessRefusal('super_admin', true, 'internal', active)).toBeNull();
    expect(remoteAccessRefusal('soc_operator', true, 'customer', active)).toBeNull();
    expect(remoteAccessRefusal('soc_operator', true, 'customer', { status: 'active', quarantine: { reason: 'x' } })).toMatch(/quarantined/);
    expect(remoteAccessRefusal('soc_operator', true, 'customer', { status: 'revoked', quarantine: null })).toMatch(/revoked/);
  });

  it('recovery shells: Super Admins only, in RECOVERY MODE, when the stick registered a shell', () => {
    const active = { status: 'active', quarantine: null };
    const shell = { shellHostKeyFingerprint: 'SHA256:abc' };
    expect(recoveryShellRefusal('super_admin', active, shell, true)).toBeNull();
    expect(recoveryShellRefusal('soc_operator', active, shell, true)).toMatch(/only Super Admins/);
    expect(recoveryShellRefusal('read_only', active, shell, true)).toMatch(/only Super Admins/);
    expect(recoveryShellRefusal('super_admin', active, null, false)).toMatch(/Loading/);
    expect(recoveryShellRefusal('super_admin', active, null, true)).toMatch(/not in RECOVERY MODE/);
    expect(recoveryShellRefusal('super_admin', active, { shellHostKeyFingerprint: null }, true)).toMatch(/no shell/);
    expect(recoveryShellRefusal('super_admin', { status: 'active', quarantine: { reason: 'x' } }, shell, true)).toMatch(/quarantined/);
  });

  it('parse asciicast v2: output and resizes in order, input and broken lines skipped', () => {
    const text = [
      JSON.stringify({ version: 2, width: 100, height: 30, timestamp: 1 }),
      JSON.stringify([0.5, 'o', '$ ']),
      JSON.stringify([0.7, 'i', 'h']),
      JSON.stringify([1.2, 'r', '120x40']),
      '[1.3, "o", "cut sh',
      JSON.stringify([2.5, 'o', 'lab-1\r\n']),
      '',
    ].join('\n');
    const cast = parseAsciicast(text);
    expect(cast.width).toBe(100);
    expect(cast.height).toBe(30);
    expect(cast.events.map((e) => e.kind)).toEqual(['o', 'r', 'o']);
    expect(cast.duration).toBe(2.5);
    expect(parseResize('120x40')).toEqual({ cols: 120, rows: 40 });
    expect(() => parseAsciicast(JSON.stringify({ version: 1 }))).toThrow(/v2/);
  });

  it('ack rendered output in batches', () => {
    const acks = new AckCounter(100);
    expect(acks.rendered(60)).toBe(0);
    expect(acks.rendered(60)).toBe(120);
    expect(acks.rendered(10)).toBe(0);
    expect(acks.take()).toBe(10);
    expect(acks.take()).toBe(0);
  });
});
