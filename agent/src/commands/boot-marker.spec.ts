import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootMarker, readBootMarker } from './boot-marker.js';

const BOOT_ID = '0f6c8f1e-3b2a-4f7e-9d55-1a2b3c4d5e6f';
// PID 1 "systemd" started at tick 12345; fields after the comm: state ppid pgrp ... starttime is the 20th.
const stat = (comm: string, start = 12345) => `1 (${comm}) S 0 1 1 0 -1 4194560 1000 2000 30 40 5 6 7 8 20 0 1 0 ${start} 170000000 3000`;

describe('bootMarker', () => {
  it('joins the boot id and the start time of PID 1', () => {
    expect(bootMarker(`${BOOT_ID}\n`, stat('systemd'))).toBe(`${BOOT_ID}:12345`);
  });

  it('counts fields after the last parenthesis (a comm with spaces and parentheses)', () => {
    expect(bootMarker(BOOT_ID, stat('a) b (c', 777))).toBe(`${BOOT_ID}:777`);
  });

  it('changes when only PID 1 restarted (a container device rebooting on the same kernel)', () => {
    expect(bootMarker(BOOT_ID, stat('systemd', 100))).not.toBe(bootMarker(BOOT_ID, stat('systemd', 9000)));
  });

  it('refuses what it cannot read', () => {
    expect(() => bootMarker(BOOT_ID, '1 (init) S 0')).toThrow(/start time of PID 1/);
    expect(() => bootMarker('nope', stat('systemd'))).toThrow(/boot id/);
  });

  it('reads the files under /proc (here a stand-in root) and the real ones', async () => {
    const root = await mkdtemp(join(tmpdir(), 'xspectre-proc-'));
    try {
      await mkdir(join(root, 'sys/kernel/random'), { recursive: true });
      await mkdir(join(root, '1'));
      await writeFile(join(root, 'sys/kernel/random/boot_id'), `${BOOT_ID}\n`);
      await writeFile(join(root, '1/stat'), stat('systemd', 42));
      expect(await readBootMarker(root)).toBe(`${BOOT_ID}:42`);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
    expect(await readBootMarker()).toMatch(/^[0-9a-f-]{36}:\d+$/);
  });
});
