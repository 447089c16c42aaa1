import { QueryFailedError } from 'typeorm';

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
