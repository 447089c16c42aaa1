import { AgeArmoredSchema } from '@xspectre/contracts';
import { Decrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { catalogIdOf, emptyPick, escrowFileName, passwordProblem, restoreRequestOfPick, snapshotLabel, toggled } from './backups-restore';
import { encryptToTransferKey } from './backups-transfer';
import { bytes } from './format';

const SNAP = '7f25e8971a2b3c4d';

describe('backups restore', () => {
  it('merges ticked and typed paths into the request, duplicates once', () => {
    const pick = { ...emptyPick(SNAP), ticked: ['/etc', '/srv'], typed: ' /srv \n\n/home/alice/notes\n' };
    expect(restoreRequestOfPick(pick)).toEqual({
      ok: true,
      request: { snapshotId: SNAP, paths: ['/etc', '/srv', '/home/alice/notes'], target: { mode: 'original' } },
    });
    expect(restoreRequestOfPick({ ...pick, target: 'alternate', directory: ' /srv/restore ' })).toMatchObject({
      ok: true,
      request: { target: { mode: 'alternate', directory: '/srv/restore' } },
    });
  });

  it('names every problem at its field with the contract’s words', () => {
    expect(restoreRequestOfPick(emptyPick())).toEqual({
      ok: false,
      errors: { snapshotId: 'choose a snapshot', paths: 'tick a path or type one' },
    });
    const bad = restoreRequestOfPick({ ...emptyPick('XYZ'), typed: 'etc/nginx\n/srv/../root', target: 'alternate', directory: 'restore' });
    expect(bad).toEqual({
      ok: false,
      errors: {
        snapshotId: 'must be a restic snapshot id (8–64 hex digits)',
        paths: '“etc/nginx” must be an absolute path (start with /); “/srv/../root” must not contain ".." segments',
        directory: '“restore” must be an absolute path (start with /)',
      },
    });
    expect(restoreRequestOfPick({ ...emptyPick(SNAP), ticked: ['/etc'], target: 'alternate' })).toEqual({
      ok: false,
      errors: { directory: 'name the directory to restore into' },
    });
    const many = Array.from({ length: 65 }, (_, i) => `/p${i}`).join('\n');
    expect(restoreRequestOfPick({ ...emptyPick(SNAP), typed: many })).toEqual({ ok: false, errors: { paths: 'at most 64 paths' } });
  });

  it('ticks and unticks', () => {
    expect(toggled(['/etc'], '/srv', true)).toEqual(['/etc', '/srv']);
    expect(toggled(['/etc', '/srv'], '/etc', false)).toEqual(['/srv']);
    expect(toggled(['/etc'], '/etc', true)).toEqual(['/etc']);
  });

  it('labels snapshots and names the escrow file', () => {
    expect(snapshotLabel({ snapshotId: SNAP, time: '2026-12-04T02:00:13.123Z', totalBytes: 3 * 1024 * 1024 }, bytes)).toBe(
      '2026-12-04 02:00 UTC · 7f25e897 · 3.0 MiB',
    );
    expect(escrowFileName('acme scanner/01')).toBe('acme_scanner_01.age');
    expect(escrowFileName('..')).toBe('device.age');
  });

  it('finds the catalog entry of a short snapshot id', () => {
    const catalog = [{ snapshotId: '7f25e8971a2b'.padEnd(64, '0') }, { snapshotId: 'abcdef12'.padEnd(64, '1') }];
    expect(catalogIdOf(catalog, '7f25e8971a2b')).toBe('7f25e8971a2b'.padEnd(64, '0'));
    expect(catalogIdOf(catalog, 'abcdef12'.padEnd(64, '1'))).toBe('abcdef12'.padEnd(64, '1'));
    expect(catalogIdOf(catalog, '99999999')).toBe('99999999');
    expect(catalogIdOf(undefined, '')).toBe('');
  });

  it('takes a pasted password as it is, one line, bounded', () => {
    expect(passwordProblem('')).toContain('paste');
    expect(passwordProblem(' s3cret ')).toBeNull();
    expect(passwordProblem('a\nb')).toBe('must be one line');
    expect(passwordProblem('x'.repeat(1025))).toBe('must be at most 1024 characters');
  });

  it('encrypts the password to the transfer key: armored as the contract wants, decrypted by the identity', async () => {
    const identity = await generateX25519Identity();
    const armored = await encryptToTransferKey(await identityToRecipient(identity), ' pass word ');
    expect(AgeArmoredSchema.safeParse(armored).success).toBe(true);
    expect(armored).not.toContain('pass word');
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity);
    const { armor } = await import('age-encryption');
    expect(await decrypter.decrypt(armor.decode(armored), 'text')).toBe(' pass word ');
  });
});
