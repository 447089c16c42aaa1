/**
 * The weekly full-disk image slot (FULL, HYBRID) as SQL, shared by the policy view here and the
 * worker's scheduler (api/src/disk-images/disk-image-schedule.repository.ts), so both read the
 * same slot. PostgreSQL does the calendar in the site's zone: the latest local date on or before
 * today that falls on the policy's weekday (0 = Sunday, `extract(dow …)`), a week either side,
 * and each date's local time `AT TIME ZONE` the zone. On the day clocks go forward a time in the
 * skipped hour is due an hour later; on the day they go back a repeated hour still gives one slot
 * per date (the date is the key).
 *
 * `now`, `zone`, `weekday`, `localTime` are SQL expressions (a parameter, a column).
 */
export function imageSlotsSql(now: string, zone: string, weekday: string, localTime: string, weeks: readonly number[]): string {
  const today = `((${now})::timestamptz AT TIME ZONE ${zone})::date`;
  const latest = `(${today} - ((extract(dow FROM ${today})::int - (${weekday})::int + 7) % 7))`;
  const days = weeks.map((w) => `((${latest} + ${w * 7})::date)`);
  return `(SELECT v.day AS slot_date, ((v.day + (${localTime})::time) AT TIME ZONE ${zone}) AS due_at
             FROM (VALUES ${days.map((d) => `(${d})`).join(', ')}) AS v(day))`;
}

/** Module values of the modes with a weekly image / with a nightly restic run (devices.modules ->> 'backups'). */
export const IMAGE_MODULES_SQL = `('full', 'hybrid')`;
export const FILE_MODULES_SQL = `('file', 'hybrid')`;
