import { describe, expect, it } from 'vitest';
import { runProcess } from './run-process.js';

describe('runProcess', () => {
  it('passes arguments as they are (no shell) and returns code and output', async () => {
    const result = await runProcess(process.execPath, ['-e', 'process.stdout.write(process.argv[1]); process.exit(3)', '$(id); `x` "y"'], {
      timeoutMs: 10_000,
      maxBytes: 1024,
    });
    expect(result).toMatchObject({ code: 3, signal: null, stdoutCut: false });
    expect(result.stdout.toString()).toBe('$(id); `x` "y"');
    expect(result.error).toBeUndefined();
  });

  it('keeps at most maxBytes of each stream and flags the cut, without blocking the child', async () => {
    const result = await runProcess(
      process.execPath,
      ['-e', 'process.stdout.write("a".repeat(300000)); process.stderr.write("e".repeat(10))'],
      {
        timeoutMs: 10_000,
        maxBytes: 1000,
      },
    );
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(1000);
    expect(result.stdoutCut).toBe(true);
    expect(result.stderr.toString()).toBe('eeeeeeeeee');
    expect(result.stderrCut).toBe(false);
  });

  it('reports a missing program and a timeout', async () => {
    const missing = await runProcess('xspectre-no-such-program', [], { timeoutMs: 5000, maxBytes: 10 });
    expect(missing.error).toBe('xspectre-no-such-program is not installed');
    expect(missing.code).not.toBe(0);
    const slow = await runProcess(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 300, maxBytes: 10 });
    expect(slow.signal).toBe('SIGKILL');
    expect(slow.error).toBe('timed out after 300 ms');
  });
});
