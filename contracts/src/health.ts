import { z } from 'zod';

export const HealthSchema = z.object({ status: z.literal('ok'), version: z.string() });
export const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({
    postgres: z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }),
    redis: z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }),
  }),
});
