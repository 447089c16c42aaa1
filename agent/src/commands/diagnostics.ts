import { COMMAND_OUTPUT_MAX_BYTES } from '@xspectre/contracts';
import type { FinalResult } from './command-journal.js';
import { boundUtf8 } from './output.js';
import type { ProcessResult, RunOptions } from './run-process.js';

/**
 * diagnostics.collect: read-only, so it runs inside the agent (its sandbox allows reading the
 * journal and asking systemd), not in a transient unit. Each section is bounded so that all of
 * them, with their headers, fit the report's 64 KiB.
 */
export const DIAGNOSTIC_SECTIONS: readonly (readonly [string, readonly string[]])[] = [
  ['journalctl', ['-u', 'xspectre-agent', '-n', '200', '--no-pager']],
  ['journalctl', ['-k', '-n', '200', '--no-pager']],
  ['df', ['-h']],
  ['systemctl', ['--failed', '--no-pager']],
];
export const SECTION_MAX_BYTES = 15 * 1024;
export const SECTION_TIMEOUT_MS = 20_000;

export type RunFn = (file: string, args: readonly string[], options: RunOptions) => Promise<ProcessResult>;

/** The last `maxBytes` of a log (its newest lines), starting on a whole character, with a note when cut. */
export function tailUtf8(bytes: Buffer, maxBytes: number): { text: string; cut: boolean } {
  if (bytes.length <= maxBytes) return { text: bytes.toString('utf8'), cut: false };
  let start = bytes.length - maxBytes;
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  const newline = bytes.indexOf(0x0a, start);
  if (newline !== -1 && newline + 1 < bytes.length) start = newline + 1; // whole lines only
  return { text: `[… ${start} bytes cut]\n${bytes.subarray(start).toString('utf8')}`, cut: true };
}

export async function collectDiagnostics(run: RunFn, signal?: AbortSignal): Promise<FinalResult> {
  const parts: string[] = [];
  let succeeded = 0;
  let cut = false;
  for (const [file, args] of DIAGNOSTIC_SECTIONS) {
    const result = await run(file, args, { timeoutMs: SECTION_TIMEOUT_MS, maxBytes: 1024 * 1024, ...(signal ? { signal } : {}) });
    const status = result.error ?? (result.code === 0 ? 'exit 0' : result.signal ? `signal ${result.signal}` : `exit ${result.code}`);
    if (!result.error && result.code === 0) succeeded++;
    const out = tailUtf8(Buffer.concat([result.stdout, result.stderr]), SECTION_MAX_BYTES);
    cut ||= out.cut || result.stdoutCut || result.stderrCut;
    parts.push(`===== ${[file, ...args].join(' ')} (${status}) =====\n${out.text}${out.text.endsWith('\n') || !out.text ? '' : '\n'}`);
  }
  const stdout = boundUtf8(parts.join('\n'), COMMAND_OUTPUT_MAX_BYTES);
  return {
    status: succeeded > 0 ? 'succeeded' : 'failed',
    exitCode: succeeded === DIAGNOSTIC_SECTIONS.length ? 0 : 1,
    stdout: stdout.text,
    stdoutTruncated: stdout.truncated || cut,
    ...(succeeded > 0 ? {} : { reason: 'no diagnostic could be collected' }),
  };
}
