import { readFile } from 'node:fs/promises';
/**
 * Exit codes of `xspectre-agent`. bootstrap.sh and operators rely on them: never renumber,
 * only add.
 */
export const ExitCode = {
  OK: 0,
  /** Generic failure; `status --wait-for-ack` / `--max-age` not satisfied. */
  FAILURE: 1,
  /** Bad command line. */
  USAGE: 2,
  /** The API rejected the claim code (CLAIM_CODE_INVALID, _EXPIRED, _USED, _REVOKED, ...). */
  CLAIM_REJECTED: 3,
  /** The API could not be reached (network error, timeout, gateway error). */
  API_UNREACHABLE: 4,
  /** The API answered something the agent cannot use (not the contract). */
  BAD_ANSWER: 5,
  /** A local file is missing, unreadable or invalid (config, state, keys). */
  LOCAL_ERROR: 6,
  /** `enroll` without `--force` on a device that already has an agent config. */
  ALREADY_ENROLLED: 7,
  /** The API refused the request for another reason (VALIDATION_FAILED, RATE_LIMITED, ...). */
  API_REFUSED: 8,
  /** `run` while another agent runs on the same state directory. */
  ALREADY_RUNNING: 9,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the command with a message (never containing secrets) and an exit code. */
export class AgentError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

export class UsageError extends AgentError {
  constructor(message: string) {
    super(ExitCode.USAGE, message);
    this.name = 'UsageError';
  }
}

/** Removes control characters (terminal escapes) from text that came from outside. */
export function printable(text: string, max = 500): string {
  const clean = text.replace(/\p{Cc}+/gu, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Reads a local file the agent needs; a failure is a LOCAL_ERROR naming what and where. */
export async function readLocalFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new AgentError(ExitCode.LOCAL_ERROR, `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
