import { z } from 'zod';
import { UNSTORABLE_TEXT_MESSAGE, isStorableText } from './storable-text.js';

/** RFC 9457 problem details, the body of every API error. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
  requestId: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

export const UuidSchema = z.uuid();
export const IdParamSchema = z.object({ id: z.uuid() }).strict();

/** Free text an operator types into a name field: trimmed, printable, bounded. */
export const NameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(120, 'must be at most 120 characters')
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
  .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
}

export const IsoDateTimeSchema = z.iso.datetime({ offset: true });
