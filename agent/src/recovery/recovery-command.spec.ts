import { describe, expect, it } from 'vitest';
import { formatLine } from './console-line.js';
import { parseRecoveryArgs } from './recovery-command.js';

describe('formatLine', () => {
  it("writes the stick's console format, quoting values with spaces and dropping control characters", () => {
    expect(formatLine('register ok', { boot: 'b1', device: 'd1', skipped: undefined })).toBe(
      'XSPECTRE-RECOVERY step=agent register ok boot=b1 device=d1',
    );
    expect(formatLine('tunnel fail', { reason: 'wg set failed: "bad"\n\u001b[2J', retry_s: 4 })).toBe(
      `XSPECTRE-RECOVERY step=agent tunnel fail reason="wg set failed: 'bad' [2J" retry_s=4`,
    );
    expect(formatLine('x', { empty: '' })).toBe('XSPECTRE-RECOVERY step=agent x empty=""');
  });
});

describe('parseRecoveryArgs', () => {
  it('takes the stick environment and flags', () => {
    expect(parseRecoveryArgs(['run'], { XS_RECOVERY_CONFIG: '/run/x/recovery.conf', XS_RECOVERY_STICK: 'sdb' })).toEqual({
      config: '/run/x/recovery.conf',
      stick: 'sdb',
      runDir: '/run/xspectre-recovery',
      tunnel: true,
    });
    expect(parseRecoveryArgs(['run', '--config', 'c', '--stick', 'sdc', '--run-dir', '/tmp/r', '--no-tunnel'], {})).toEqual({
      config: 'c',
      stick: 'sdc',
      runDir: '/tmp/r',
      tunnel: false,
    });
  });

  it('refuses other subcommands, unknown flags, missing values and a stick that is not a disk name', () => {
    expect(() => parseRecoveryArgs([], {})).toThrow(/needs a subcommand/);
    expect(() => parseRecoveryArgs(['image'], {})).toThrow(/unknown recovery subcommand/);
    expect(() => parseRecoveryArgs(['run', '--force'], {})).toThrow(/unknown option/);
    expect(() => parseRecoveryArgs(['run', '--config'], {})).toThrow(/needs a value/);
    expect(() => parseRecoveryArgs(['run', '--stick', '../sda'], {})).toThrow(/kernel disk name/);
    expect(() => parseRecoveryArgs(['run'], { XS_RECOVERY_STICK: 'sd b' })).toThrow(/kernel disk name/);
  });
});
