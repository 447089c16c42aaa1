import type { AuditEvent } from '@xspectre/contracts';

const COLUMNS = [
  'id',
  'timestamp',
  'userId',
  'userEmail',
  'sourceIp',
  'requestId',
  'action',
  'resourceType',
  'resourceId',
  'result',
  'errorMessage',
  'details',
  'hash',
] as const;

/** RFC 4180 quoting, plus a leading quote on cells a spreadsheet would run as a formula. */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function auditCsv(events: AuditEvent[]): string {
  const lines = [COLUMNS.join(',')];
  for (const e of events) lines.push(COLUMNS.map((c) => csvCell(e[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
