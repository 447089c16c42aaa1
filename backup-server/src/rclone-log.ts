/** `… NOTICE: Local file system at /srv: Serving restic REST API on http://127.0.0.1:44019/` → 44019. */
export function parseServingPort(line: string): number | undefined {
  const match = /Serving restic REST API on https?:\/\/127\.0\.0\.1:(\d{1,5})\//.exec(line);
  const port = match ? Number(match[1]) : undefined;
  return port !== undefined && port > 0 && port < 65536 ? port : undefined;
}

/** rclone's level word of a log line (`2026/12/04 03:57:48 ERROR : …`), for our own log level. */
export function rcloneLineLevel(line: string): 'info' | 'warn' | 'error' {
  if (/\b(ERROR|CRITICAL)\b/.test(line)) return 'error';
  if (/\bWARNING\b/.test(line)) return 'warn';
  return 'info';
}
