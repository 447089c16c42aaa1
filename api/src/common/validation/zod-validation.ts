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
  return tidyForOpenApi30(json) as Record<string, unknown>;
}

type JsonNode = unknown;

/**
 * Two shapes zod emits that OpenAPI 3.0 readers misread: `nullable` beside a union without a
 * `type` (3.0 ignores `nullable` there, so null looks invalid; the branches' common type is
 * added), and a tuple of identical positions as `items.anyOf` of copies (collapsed to one).
 */
function tidyForOpenApi30(node: JsonNode): JsonNode {
  if (Array.isArray(node)) return node.map(tidyForOpenApi30);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, JsonNode> = {};
  for (const [key, value] of Object.entries(node)) out[key] = tidyForOpenApi30(value);
  for (const union of ['anyOf', 'oneOf'] as const) {
    const branches = out[union];
    if (!Array.isArray(branches) || branches.length < 2) continue;
    const first = JSON.stringify(branches[0]);
    if (!branches.every((b) => JSON.stringify(b) === first)) continue;
    if (Object.keys(out).length === 1) return branches[0];
    out[union] = [branches[0]];
  }
  if (out.nullable === true && out.type === undefined) {
    const branches = [out.anyOf, out.oneOf, out.allOf].find(Array.isArray) as Array<{ type?: unknown }> | undefined;
    const types = new Set(branches?.map((b) => b.type));
    if (types.size === 1 && typeof [...types][0] === 'string') out.type = [...types][0];
  }
  return out;
}
