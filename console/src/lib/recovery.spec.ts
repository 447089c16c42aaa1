import type { DiskImage, RecoveryHardware } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import { bytes } from './format';
import { bounded, defaultMapping, progressKind, recoveryProgressView, restoreRequestOf, shortSha, takeRequestOf } from './recovery';

const GiB = 1024 ** 3;
const hardware: RecoveryHardware = {
  firmware: 'uefi',
  cpuModel: 'QEMU',
  cpus: 2,
  memoryBytes: 2 * GiB,
  disks: [
    { name: 'sda', sizeBytes: 8 * GiB, model: 'QEMU HARDDISK', serial: null, removable: false, rotational: true, role: 'target' },
    { name: 'sdb', sizeBytes: 4 * GiB, model: 'small', serial: null, removable: false, rotational: true, role: 'target' },
    { name: 'sdc', sizeBytes: 16 * GiB, model: 'stick', serial: null, removable: true, rotational: false, role: 'recovery-stick' },
  ],
  nics: [],
};
const image = {
  imageName: '2026-12-01T030000Z',
  metadata: { disks: [{ name: 'sda', sizeBytes: 8 * GiB }] },
} as unknown as DiskImage;

describe('recovery view', () => {
  it('shows progress with a bar, bytes, rate and a counted-down ETA', () => {
    const at = '2026-12-01T03:00:00.000Z';
    const view = recoveryProgressView(
      {
        commandId: crypto.randomUUID(),
        phase: 'writing',
        bytesDone: 2 * GiB,
        bytesTotal: 8 * GiB,
        rateBytesPerSecond: 50 * 1024 ** 2,
        etaSeconds: 125,
      },
      at,
      Date.parse(at) + 5000,
      bytes,
    );
    expect(view).toEqual({
      percent: 25,
      phase: 'writing the disk',
      bytes: '2.0 GiB of 8.0 GiB',
      rate: '50.0 MiB/s',
      eta: 'about 2 m 00 s left',
    });
    const done = recoveryProgressView(
      { commandId: crypto.randomUUID(), phase: 'verifying', bytesDone: 0, bytesTotal: 0, rateBytesPerSecond: 0, etaSeconds: 3 },
      at,
      Date.parse(at) + 10_000,
      bytes,
    );
    expect(done).toMatchObject({ percent: 0, eta: 'almost done' });
    expect(progressKind('uploading')).toBe('image');
    expect(progressKind('verifying')).toBe('restore');
  });

  it('bounds and cleans device strings', () => {
    expect(bounded('a\u0007b')).toBe('a b');
    expect(bounded('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(bounded(null)).toBe('—');
    expect(shortSha('ab'.repeat(32))).toBe('abababab…abab');
  });

  it('checks the typed name and the disk mapping as the API will', () => {
    const mapping = defaultMapping(image, hardware);
    expect(mapping).toEqual({ sda: 'sda' });
    expect(restoreRequestOf('acme-1', 'acme-1', image, hardware, mapping)).toEqual({
      ok: true,
      body: { confirmDeviceName: 'acme-1', targets: [{ imageDisk: 'sda', target: 'sda' }] },
    });
    expect(restoreRequestOf('acme-1', 'ACME-1', image, hardware, mapping)).toMatchObject({ ok: false, errors: { confirm: /exactly/ } });
    expect(restoreRequestOf('acme-1', 'acme-1 ', image, hardware, mapping)).toMatchObject({ ok: false });
    expect(restoreRequestOf('acme-1', '', image, hardware, mapping)).toMatchObject({ ok: false, errors: { confirm: /type/ } });
    expect(restoreRequestOf('acme-1', 'acme-1', image, hardware, { sda: 'sdb' })).toMatchObject({
      ok: false,
      errors: { targets: /smaller/ },
    });
    expect(restoreRequestOf('acme-1', 'acme-1', image, hardware, { sda: '' })).toMatchObject({ ok: false, errors: { targets: /choose/ } });
    // No hardware reported: the API maps by name.
    expect(restoreRequestOf('acme-1', 'acme-1', image, null, {})).toEqual({ ok: true, body: { confirmDeviceName: 'acme-1' } });
  });
});

describe('takeRequestOf', () => {
  it('sends every target disk as the default, the ticked ones in the machine’s order, never the stick', () => {
    expect(takeRequestOf(hardware, new Set(['sda', 'sdb']))).toEqual({ ok: true, body: {} });
    expect(takeRequestOf(hardware, new Set(['sdb']))).toEqual({ ok: true, body: { disks: ['sdb'] } });
    expect(takeRequestOf(hardware, new Set(['sdb', 'sdc', 'sda']))).toEqual({ ok: true, body: {} });
    expect(takeRequestOf(hardware, new Set(['sdc']))).toEqual({ ok: false, error: 'choose at least one disk to image' });
    expect(takeRequestOf(hardware, new Set())).toEqual({ ok: false, error: 'choose at least one disk to image' });
  });
  it('without the stick’s hardware (not in RECOVERY MODE) every disk is imaged', () => {
    expect(takeRequestOf(null, new Set(['sda']))).toEqual({ ok: true, body: {} });
  });
});
