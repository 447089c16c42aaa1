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
  /** Keyset page: only rows older than this id (newest first); take the answer's nextCursor for the next page. */
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,17}$/, 'an audit entry id')
    .optional()
    .describe("rows with id < cursor (newest first); the previous page's nextCursor"),
}).strict();
export type ListAuditQuery = z.infer<typeof ListAuditQuerySchema>;
/** Filtered totals are counted up to this many rows; more shows as "10,000+". */
export const AUDIT_TOTAL_CAP = 10_000;
export const AuditPageSchema = pageOf(AuditEventSchema).extend({
  nextCursor: z.string().nullable().optional().describe('the cursor of the next (older) page; null on the last page'),
  totalCapped: z
    .boolean()
    .optional()
    .describe(`true when more than ${AUDIT_TOTAL_CAP} rows match a filter: total is then ${AUDIT_TOTAL_CAP + 1}, shown as "10,000+"`),
});

export const AuditVerifyResponseSchema = z.object({
  intact: z.boolean(),
  checked: z.number().int().describe('rows the recorded run read (an incremental run reads only rows after the last verified one)'),
  firstBrokenId: z.string().nullable(),
  reason: z.string().nullable(),
  verifiedAt: z.string().nullable().optional().describe('when the worker recorded this result; null: no run recorded yet'),
  verifiedThroughId: z
    .string()
    .nullable()
    .optional()
    .describe('the newest row that run found correctly chained (where it stopped, on a break)'),
  headId: z.string().nullable().optional().describe('the newest row of the chain now'),
  full: z.boolean().optional().describe('whether that run walked the chain from its first row'),
});
export type AuditVerifyResponse = z.infer<typeof AuditVerifyResponseSchema>;
