import { appendFileSync } from 'node:fs';

/**
 * One machine-readable line per step, in the stick's format (recovery-usb/files/init `say`):
 * `XSPECTRE-RECOVERY step=agent EVENT key=value …`, on stdout (the stick keeps it in
 * /run/xspectre-recovery/agent.log) and on /dev/console when writable. Values are made
 * printable and quoted when they hold spaces; callers never pass secrets.
 */
export type Field = string | number | boolean | null | undefined;

export function formatLine(event: string, fields: Record<string, Field> = {}): string {
  const parts = [`XSPECTRE-RECOVERY step=agent ${event}`];
  for (const [key, raw] of Object.entries(fields)) {
    if (raw === undefined) continue;
    const value = String(raw)
      .replace(/\p{Cc}+/gu, ' ')
      .replace(/"/g, "'")
      .trim()
      .slice(0, 300);
    parts.push(`${key}=${/[\s=]/.test(value) || value === '' ? `"${value}"` : value}`);
  }
  return parts.join(' ');
}

export function consoleLine(options: { stdout: (text: string) => void; console?: string | null }) {
  return (event: string, fields?: Record<string, Field>) => {
    const line = formatLine(event, fields);
    options.stdout(`${line}\n`);
    if (options.console) {
      try {
        appendFileSync(options.console, `${line}\n`);
      } catch {
        // No console (tests, containers): stdout has the line.
      }
    }
  };
}
