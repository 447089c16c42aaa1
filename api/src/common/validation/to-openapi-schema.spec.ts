import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toOpenApiSchema } from './zod-validation.js';

const Ok = z.object({ status: z.literal('ok') });
const Failed = z.object({ status: z.literal('error'), error: z.string() });

describe('toOpenApiSchema (OpenAPI 3.0 readers)', () => {
  it('a nullable union of objects says type object, so nullable counts', () => {
    const json = toOpenApiSchema(z.discriminatedUnion('status', [Ok, Failed]).nullable(), 'output');
    expect(json).toMatchObject({ type: 'object', nullable: true });
    expect(json.oneOf ?? json.anyOf).toHaveLength(2);
  });

  it('a nullable union of different types stays without a type (none would be true)', () => {
    const json = toOpenApiSchema(z.union([z.string(), z.number()]).nullable(), 'output');
    expect(json.type).toBeUndefined();
  });

  it('a tuple of identical positions is one items schema; a mixed tuple keeps its positions', () => {
    const Load = z.number().min(0);
    expect(toOpenApiSchema(z.tuple([Load, Load, Load]), 'output')).toEqual({
      type: 'array',
      items: { type: 'number', minimum: 0 },
      minItems: 3,
      maxItems: 3,
    });
    const mixed = toOpenApiSchema(z.tuple([z.string(), z.number()]), 'output') as { items: { anyOf: unknown[] } };
    expect(mixed.items.anyOf).toHaveLength(2);
  });
});
