import { MAX_RATE_BYTES_PER_SECOND } from '@xspectre/contracts';

/**
 * SQL fragments that read what devices reported without trusting it. The contract bounds every
 * number a heartbeat carries, but rows already stored (written before the bounds, or by a future
 * contract bug) must not make a fleet-wide query fail: an overflowing float8 sum, a cast of a
 * non-number, an array function over a non-array each fail the whole statement, i.e. every
 * operator's fleet view. Only constants are interpolated.
 */

/** The host's network rate: the contract's per-interface bound times its 256 interfaces. */
export const MAX_HOST_RATE_BYTES_PER_SECOND = MAX_RATE_BYTES_PER_SECOND * 256;

/** A JSON number of a stored document as float8 within [0, max], else NULL; clamped as numeric, so nothing overflows. */
export function jsonNumberSql(json: string, max: number): string {
  return `(CASE WHEN jsonb_typeof(${json}) = 'number' THEN LEAST(GREATEST((${json})::numeric, 0), ${max})::float8 END)`;
}

/** The elements of a stored JSON array; none when the value is not an array. */
export function jsonElementsSql(json: string): string {
  return `jsonb_array_elements(CASE WHEN jsonb_typeof(${json}) = 'array' THEN ${json} ELSE '[]'::jsonb END)`;
}

/** A stored number column as float8 within [0, max] (±Infinity clamped); NULL stays NULL and NaN becomes NULL. */
export function clampSql(column: string, max: number): string {
  return `(CASE WHEN ${column}::float8 <> 'NaN'::float8 THEN LEAST(GREATEST(${column}::float8, 0), ${max}) END)`;
}

/** `used` as a percent of `total` (both already bounded), within [0, 100]; NULL unless total is at least one byte. */
export function percentSql(used: string, total: string): string {
  return `(CASE WHEN ${total} >= 1 THEN LEAST(100, COALESCE(${used}, 0) * 100 / ${total}) END)`;
}
