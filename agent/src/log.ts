/** JSON-lines logger for `run` (journald captures stdout). Callers never pass secrets. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function jsonLogger(write: (line: string) => void, now: () => Date = () => new Date()): Logger {
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}) =>
    write(`${JSON.stringify({ time: now().toISOString(), level, msg, ...fields })}\n`);
  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}
