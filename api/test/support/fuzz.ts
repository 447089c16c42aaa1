/**
 * Request fuzzing from the API's own OpenAPI document: a plausible value for every schema, then
 * one field at a time replaced by a hostile one. Pure: the route-fuzz spec sends what this makes.
 */
export type JsonSchema = {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  exclusiveMinimum?: number | boolean;
  minLength?: number;
  minItems?: number;
  items?: JsonSchema | JsonSchema[];
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  nullable?: boolean;
  default?: unknown;
};

/** Field names whose pattern a generic string cannot meet: a value that passes. */
export type Samples = Record<string, () => unknown>;

/** A value the schema (probably) accepts: the base that single-field mutations start from. */
export function exemplar(schema: JsonSchema | undefined, samples: Samples, name = ''): unknown {
  if (!schema) return null;
  if (samples[name]) return samples[name]!();
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  const branch = schema.anyOf ?? schema.oneOf;
  if (branch?.length) return exemplar(branch.find((b) => b.type !== 'null') ?? branch[0], samples, name);
  if (schema.allOf?.length) return Object.assign({}, ...schema.allOf.map((s) => exemplar(s, samples, name)));
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, prop] of Object.entries(schema.properties ?? {})) out[key] = exemplar(prop, samples, key);
      return out;
    }
    case 'array': {
      const item = Array.isArray(schema.items) ? schema.items[0] : schema.items;
      return Array.from({ length: Math.max(1, schema.minItems ?? 0) }, () => exemplar(item, samples, name));
    }
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return false;
    case 'string':
      if (schema.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
      if (schema.format === 'date-time') return new Date().toISOString();
      if (schema.format === 'email') return `fuzz-${Math.random().toString(36).slice(2)}@example.com`;
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    default:
      return null;
  }
}

const deep = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
};

/** Values of every type, and the extremes of each, that no field should turn into a 5xx. */
export const HOSTILE_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  5e-324,
  '',
  ' ',
  '0',
  '-1',
  'x'.repeat(10_000),
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '🛰️'.repeat(300),
  '<img src=x onerror=alert(1)>',
  "'; DROP TABLE devices; --",
  '../../../../etc/passwd',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '00000000-0000-0000-0000-000000000000',
  [],
  [null],
  {},
  { nested: { deeper: ['x'] } },
  deep(200),
];

/** Whole bodies that are not the shape of anything, sent as raw text. */
export const HOSTILE_RAW_BODIES: string[] = [
  '1e309',
  '[]',
  '"x"',
  'null',
  'true',
  '{"a":1e309}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":1,"a":2}',
  '{"a":"\\ud800"}',
  '{"\\u0000":1}',
  `${'['.repeat(5000)}${']'.repeat(5000)}`,
  `{"k":${'{"k":'.repeat(2000)}1${'}'.repeat(2000)}}`,
  '{',
  '',
];

/** Query-string values (already URL-encoded). */
export const HOSTILE_QUERY_VALUES: string[] = [
  '',
  '%00',
  'a%00b',
  '%ED%A0%80',
  '%F0%9F%9B%B0',
  '-1',
  '0',
  '1e309',
  'NaN',
  'Infinity',
  '1.5',
  '9'.repeat(400),
  'true',
  'x'.repeat(3000),
  '%27%3B%20DROP%20TABLE%20devices%3B--',
  '1970-01-01T00%3A00%3A00Z',
  '00000000-0000-0000-0000-000000000000',
];

/** Path-parameter values (already URL-encoded). */
export const HOSTILE_PATH_VALUES: string[] = [
  '00000000-0000-4000-8000-000000000000',
  '00000000-0000-0000-0000-000000000000',
  'not-a-uuid',
  '%00',
  '%ED%A0%80',
  '%F0%9F%9B%B0',
  'a'.repeat(2000),
  '%2e%2e',
  '1e309',
  '-1',
];

/** Every path into `value` (objects and arrays), the root included. */
export function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

/** A deep copy of `value` with the node at `path` replaced (or removed when `replacement` is REMOVE). */
export const REMOVE = Symbol('remove');
export function withValueAt(value: unknown, path: Array<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement === REMOVE ? undefined : replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (replacement === REMOVE) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = replacement;
  return copy;
}
