/**
 * The next run of a gvmd schedule, from the iCalendar text get_tasks carries (gvmd computes no
 * "next time" field any more). Only what can be computed exactly without a time-zone database:
 * a UTC DTSTART, once or repeating every N hours, days or weeks (COUNT and UNTIL honoured).
 * Anything else (BYDAY, monthly rules, local-time starts) gives null rather than a guess.
 */

const UNIT_MS: Record<string, number> = { HOURLY: 3_600_000, DAILY: 86_400_000, WEEKLY: 7 * 86_400_000 };
const MAX_ICALENDAR_CHARS = 16_384;

function utcTime(value: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const time = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isFinite(time) ? time : null;
}

export function nextScheduledRun(icalendar: string | undefined, now: Date): string | null {
  if (!icalendar || icalendar.length > MAX_ICALENDAR_CHARS) return null;
  // Unfold continuation lines (RFC 5545 3.1), then read the first event's properties.
  const lines = icalendar.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
  let start: number | null = null;
  let rule: string | null = null;
  for (const line of lines) {
    const [head = '', ...rest] = line.split(':');
    const value = rest.join(':').trim();
    const name = head.split(';')[0]!.toUpperCase();
    if (name === 'DTSTART' && start === null) {
      const params = head.toUpperCase();
      start = params.includes('TZID=') && !params.includes('TZID=UTC') ? null : utcTime(value.endsWith('Z') ? value : `${value}Z`);
      if (start === null) return null;
    } else if (name === 'RRULE' && rule === null) rule = value.toUpperCase();
  }
  if (start === null) return null;
  const nowMs = now.getTime();
  if (rule === null) return start > nowMs ? new Date(start).toISOString() : null;

  const parts = new Map(rule.split(';').map((p) => p.split('=') as [string, string]));
  const unit = UNIT_MS[parts.get('FREQ') ?? ''];
  const known = new Set(['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'WKST']);
  if (unit === undefined || [...parts.keys()].some((k) => !known.has(k))) return null;
  const interval = Number(parts.get('INTERVAL') ?? '1');
  if (!Number.isInteger(interval) || interval < 1) return null;
  const period = unit * interval;
  const runsBefore = start > nowMs ? 0 : Math.floor((nowMs - start) / period) + 1;
  const next = start + runsBefore * period;
  const count = parts.get('COUNT');
  if (count !== undefined && runsBefore >= Number(count)) return null;
  const until = parts.get('UNTIL');
  if (until !== undefined) {
    const end = utcTime(until.endsWith('Z') ? until : `${until}Z`) ?? utcTime(`${until}T000000Z`);
    if (end === null || next > end) return null;
  }
  return new Date(next).toISOString();
}
