import { z } from 'zod';
import { PageQuerySchema, pageOf } from './common.js';

export const AuditResultSchema = z.enum(['success', 'failure']);

export const AuditEventSchema = z.object({
  id: z.string().describe('position in the chain'),
  timestamp: z.string(),
  userId: z.uuid().nullable(),
  userEmail: z.string().nullable(),
  sourceIp: z.string().nullable(),
  requestId: z.string().nullable(),
  action: z.string(),
  resourceType: z.string(),
  resourceId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  result: AuditResultSchema,
  errorMessage: z.string().nullable(),
  hash: z.string(),
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;

export const ListAuditQuerySchema = PageQuerySchema.extend({
  userId: z.uuid().optional(),
  action: z.string().max(100).optional(),
  resourceType: z.string().max(100).optional(),
  resourceId: z.string().max(200).optional(),
  result: AuditResultSchema.optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
}).strict();
export type ListAuditQuery = z.infer<typeof ListAuditQuerySchema>;
export const AuditPageSchema = pageOf(AuditEventSchema);

export const AuditVerifyResponseSchema = z.object({
  intact: z.boolean(),
  checked: z.number().int(),
  firstBrokenId: z.string().nullable(),
  reason: z.string().nullable(),
});
export type AuditVerifyResponse = z.infer<typeof AuditVerifyResponseSchema>;
