import { z } from 'zod';
import { AppError } from '../errors/app-error.js';

/** At most this many problems are listed; a body of thousands of unknown keys must not echo them all. */
const MAX_ERRORS = 20;
const MAX_LISTED_KEYS = 20;
const MAX_NAME_CHARS = 64;

/** Parses `value` or throws VALIDATION_FAILED naming the bad fields (the first MAX_ERRORS of them). */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'query' | 'path'): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = flatten(result.error.issues);
  const errors = issues.slice(0, MAX_ERRORS).map((issue) => ({
    path: shortName([where, ...issue.path.map(String)].join('.'), 200),
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${listed(issue.keys)}` : shortName(issue.message, 500),
  }));
  const more = issues.length - errors.length;
  const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ') + (more > 0 ? `; and ${more} more problem(s)` : '');
  throw new AppError('VALIDATION_FAILED', detail, { errors });
}

/** The first MAX_LISTED_KEYS names, each cut short, then how many were left out. */
function listed(keys: string[]): string {
  const shown = keys.slice(0, MAX_LISTED_KEYS).map((k) => shortName(k, MAX_NAME_CHARS));
  return shown.join(', ') + (keys.length > shown.length ? ` and ${keys.length - shown.length} more` : '');
}

function shortName(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * A union's own message is just "Invalid input"; report the problems of the branch that came
 * closest (fewest issues) instead, so the caller learns which field is wrong.
 */
function flatten(issues: z.core.$ZodIssue[], prefix: PropertyKey[] = []): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ ...issue, path: [...prefix, ...issue.path] }];
    const closest = issue.errors.reduce((a, b) => (b.length < a.length ? b : a));
    return flatten(closest, [...prefix, ...issue.path]);
  });
}

/** JSON Schema (OpenAPI 3.0 flavour) for the API document. */
export function toOpenApiSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}
