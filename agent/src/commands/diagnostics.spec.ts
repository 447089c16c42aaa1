import { describe, expect, it } from 'vitest';
import { COMMAND_OUTPUT_MAX_BYTES } from '@xspectre/contracts';
import { collectDiagnostics, DIAGNOSTIC_SECTIONS, SECTION_MAX_BYTES, tailUtf8, type RunFn } from './diagnostics.js';
import type { ProcessResult } from './run-process.js';

const result = (over: Partial<ProcessResult>): ProcessResult => ({
  code: 0,
  signal: null,
  stdout: Buffer.alloc(0),
  stderr: Buffer.alloc(0),
  stdoutCut: false,
  stderrCut: false,
  ...over,
});

describe('collectDiagnostics', () => {
  it('runs the four read-only commands as argument arrays, each under a header', async () => {
    const calls: string[][] = [];
    const run: RunFn = (file, args) => {
      calls.push([file, ...args]);
      return Promise.resolve(result({ stdout: Buffer.from(`out of ${file}\n`) }));
    };
    const collected = await collectDiagnostics(run);
    expect(calls).toEqual([
      ['journalctl', '-u', 'xspectre-agent', '-n', '200', '--no-pager'],
      ['journalctl', '-k', '-n', '200', '--no-pager'],
      ['df', '-h'],
      ['systemctl', '--failed', '--no-pager'],
    ]);
    expect(collected).toMatchObject({ status: 'succeeded', exitCode: 0, stdoutTruncated: false });
    expect(collected.stdout).toContain('===== journalctl -k -n 200 --no-pager (exit 0) =====\nout of journalctl\n');
    expect(collected.stdout).toContain('===== df -h (exit 0) =====\nout of df\n');
  });

  it('notes a section that failed, and fails only when none could be collected', async () => {
    const some: RunFn = (file) =>
      Promise.resolve(
        file === 'df' ? result({ stdout: Buffer.from('/dev/sda1 10G\n') }) : result({ code: null, error: `${file} is not installed` }),
      );
    const partial = await collectDiagnostics(some);
    expect(partial).toMatchObject({ status: 'succeeded', exitCode: 1 });
    expect(partial.stdout).toContain('===== systemctl --failed --no-pager (systemctl is not installed) =====');
    const none = await collectDiagnostics(() => Promise.resolve(result({ code: 1, stderr: Buffer.from('nope\n') })));
    expect(none).toMatchObject({ status: 'failed', reason: 'no diagnostic could be collected' });
    expect(none.stdout).toContain('(exit 1) =====\nnope\n');
  });

  it('keeps each section to its newest lines and the whole within the report bound', async () => {
    const line = 'kernel: 😀 something happened\n';
    const run: RunFn = () => Promise.resolve(result({ stdout: Buffer.from(line.repeat(5000)) }));
    const collected = await collectDiagnostics(run);
    expect(collected.stdoutTruncated).toBe(true);
    expect(Buffer.byteLength(collected.stdout!)).toBeLessThanOrEqual(COMMAND_OUTPUT_MAX_BYTES);
    expect(Buffer.byteLength(collected.stdout!)).toBeGreaterThan(DIAGNOSTIC_SECTIONS.length * (SECTION_MAX_BYTES - 200));
    expect(collected.stdout).not.toContain('\uFFFD');
  });
});

describe('tailUtf8', () => {
  it('keeps the end, from a whole line', () => {
    expect(tailUtf8(Buffer.from('short\n'), 100)).toEqual({ text: 'short\n', cut: false });
    const tail = tailUtf8(Buffer.from('ääää\nline two\nline three\n'), 16);
    expect(tail).toEqual({ text: '[… 18 bytes cut]\nline three\n', cut: true });
  });
});
