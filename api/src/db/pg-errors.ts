import { QueryFailedError } from 'typeorm';
import { AppError } from '../common/errors/app-error.js';

/** True when `error` is PostgreSQL's unique_violation (on `constraint`, when given). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' && (constraint === undefined || driverError.constraint === constraint);
}

/** True for foreign_key_violation (a referenced row is still in use, or missing). */
export function isForeignKeyViolation(error: unknown, constraint?: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === '23503' && (constraint === undefined || driverError.constraint === constraint);
}

/** Escapes LIKE wildcards so a search for "50%" means the text, not a pattern. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * deadlock_detected (40P01) or serialization_failure (40001): PostgreSQL rolled the transaction
 * back because it lost a race with another one; the same request can succeed when sent again.
 */
export function isConcurrencyConflict(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string }).code;
  return code === '40P01' || code === '40001';
}

/**
 * Runs `fn` (a unit of work inside the request's transaction) and answers a lost race with
 * CONCURRENT_CHANGE (409) instead of a 500. Locks are taken in one order (device row, then its
 * claim codes), so this is the fallback, not the mechanism.
 */
export async function mapConcurrencyConflict<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isConcurrencyConflict(error))
      throw new AppError('CONCURRENT_CHANGE', 'another request changed the same records at the same moment: send the request again');
    throw error;
  }
}
