// Runs `wg`/`ip` with argument arrays (never a shell string), optionally inside a netns.
import { execa, ExecaError } from 'execa';

export interface CommandTarget {
  netns?: string | undefined;
  ipBinary: string;
  timeoutMs: number;
}

/** A failed command. Carries the arguments, exit code and stderr, never stdout (a dump holds the private key). */
export class WgCommandError extends Error {
  override name = 'WgCommandError';
  constructor(
    readonly command: string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    reason: string,
  ) {
    super(`${command.join(' ')} failed (${reason})${stderr ? `: ${stderr}` : ''}`);
  }
}

/** `file ...args`, or `ip netns exec NS file ...args` with a netns. Returns stdout. */
export async function runIn(target: CommandTarget, file: string, args: string[], input?: string): Promise<string> {
  const command = target.netns ? [target.ipBinary, 'netns', 'exec', target.netns, file, ...args] : [file, ...args];
  try {
    const result = await execa(command[0] as string, command.slice(1), {
      timeout: target.timeoutMs,
      ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
    });
    return result.stdout;
  } catch (error) {
    if (!(error instanceof ExecaError)) throw error;
    const reason = error.timedOut ? `timed out after ${target.timeoutMs} ms` : `exit code ${error.exitCode ?? error.signal ?? '?'}`;
    throw new WgCommandError(command, error.exitCode, String(error.stderr ?? '').trim(), reason);
  }
}
