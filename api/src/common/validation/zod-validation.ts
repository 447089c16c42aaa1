import { z } from 'zod';
import { AppError } from '../errors/app-error.js';

/** Parses `value` or throws VALIDATION_FAILED naming every bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'query' | 'path'): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = flatten(result.error.issues).map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
  throw new AppError('VALIDATION_FAILED', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
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
