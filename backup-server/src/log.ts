/**
 * One JSON line per event on stdout (journald or the container runtime keeps them). Tests pass
 * their own Logger to read what was logged.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

export const jsonLineLogger: Logger = {
  log(level, msg, fields) {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  },
};

export const silentLogger: Logger = { log() {} };

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
