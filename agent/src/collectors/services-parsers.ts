/** Pure parsing of `systemctl list-units --output=json` and `systemctl show` output. */
import type { ServiceState } from '@xspectre/contracts';
import { cleanText } from '../facts-parsers.js';

export interface UnitListing {
  unit: string;
  active: string;
  sub: string;
}

/** `systemctl list-units --all --output=json` → its units (malformed entries skipped). */
export function parseListUnits(json: string): UnitListing[] {
  const data: unknown = JSON.parse(json);
  if (!Array.isArray(data)) throw new Error('systemctl list-units did not answer a JSON array');
  const units: UnitListing[] = [];
  for (const entry of data as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { unit, active, sub } = entry as Record<string, unknown>;
    if (typeof unit === 'string' && typeof active === 'string' && typeof sub === 'string') units.push({ unit, active, sub });
  }
  return units;
}

/** The units to report: the watch list (in its order), then every failed unit not on it. */
export function selectUnits(listing: readonly UnitListing[], watch: readonly string[]): { unit: string; watched: boolean }[] {
  const watched = new Set(watch);
  const failed = listing.filter((u) => u.active === 'failed' && !watched.has(u.unit)).map((u) => u.unit);
  return [...[...watched].map((unit) => ({ unit, watched: true })), ...[...new Set(failed)].map((unit) => ({ unit, watched: false }))];
}

/** `systemctl show A B -p Id,…` → one property map per unit (blocks separated by blank lines). */
export function parseShow(text: string): Map<string, string>[] {
  return text
    .split(/\n\s*\n/)
    .map((block) => {
      const props = new Map<string, string>();
      for (const line of block.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
      }
      return props;
    })
    .filter((p) => p.size > 0);
}

/**
 * A systemd timestamp → ISO 8601, or null when empty/unset: `@1700000000` (`--timestamp=unix`),
 * `@1700000000123456` would be µs (not used), or `Mon 2026-11-23 16:58:37 UTC` (UTC only; other
 * zones are ambiguous as abbreviations).
 */
export function parseSystemdTimestamp(value: string | undefined): string | null {
  if (value === undefined) return null;
  const v = value.trim();
  const unix = /^@(\d{1,12})$/.exec(v);
  if (unix?.[1] !== undefined) {
    const seconds = Number(unix[1]);
    return seconds > 0 ? new Date(seconds * 1000).toISOString() : null;
  }
  const utc = /^(?:\w{3} )?(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/.exec(v);
  if (utc) {
    const date = new Date(`${utc[1]}T${utc[2]}Z`);
    return Number.isNaN(date.getTime()) ? null : date.toISOString();
  }
  return null;
}

const text = (value: string | undefined, max: number, fallback: string) => cleanText(value, max) ?? fallback;

/** Combines the selection with `show` output; a unit systemd does not know is reported `inactive`/`dead`. */
export function serviceStates(
  selected: readonly { unit: string; watched: boolean }[],
  show: readonly Map<string, string>[],
): ServiceState[] {
  const byId = new Map(show.map((p) => [p.get('Id') ?? '', p]));
  return selected.map(({ unit, watched }, i) => {
    // systemctl answers in argument order; Id differs from the name asked for when it is an alias
    const props = (show.length === selected.length ? show[i] : byId.get(unit)) ?? new Map<string, string>();
    return {
      unit: text(unit, 256, '?'),
      activeState: text(props.get('ActiveState'), 32, 'unknown'),
      subState: text(props.get('SubState'), 32, 'unknown'),
      since: parseSystemdTimestamp(props.get('StateChangeTimestamp')) ?? parseSystemdTimestamp(props.get('ActiveEnterTimestamp')),
      watched,
    };
  });
}
