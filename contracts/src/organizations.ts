import { z } from 'zod';
import { NameSchema, PageQuerySchema, pageOf } from './common.js';
import { OrganizationKindSchema } from './permissions.js';

const TimeZoneSchema = z
  .string()
  .max(64)
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be an IANA time zone such as Europe/Berlin' },
  );

export const OrganizationSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: OrganizationKindSchema,
  billable: z.boolean().describe('customer organizations are billable, the internal one is not'),
  siteCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Organization = z.infer<typeof OrganizationSchema>;

export const CreateOrganizationSchema = z.object({ name: NameSchema, kind: OrganizationKindSchema }).strict();
export const UpdateOrganizationSchema = z.object({ name: NameSchema }).strict();
export const ListOrganizationsQuerySchema = PageQuerySchema.extend({
  kind: OrganizationKindSchema.optional(),
  q: z.string().max(120).optional(),
}).strict();
export const OrganizationPageSchema = pageOf(OrganizationSchema);

export const SiteSchema = z.object({
  id: z.uuid(),
  organizationId: z.uuid(),
  name: z.string(),
  timeZone: z.string(),
  deviceCount: z.number().int().describe('devices of every status (retired ones too: they keep their history here)'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Site = z.infer<typeof SiteSchema>;

export const CreateSiteSchema = z.object({ organizationId: z.uuid(), name: NameSchema, timeZone: TimeZoneSchema }).strict();
export const UpdateSiteSchema = z
  .object({ name: NameSchema.optional(), timeZone: TimeZoneSchema.optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.timeZone !== undefined, { message: 'nothing to change' });
export const ListSitesQuerySchema = PageQuerySchema.extend({
  organizationId: z.uuid().optional(),
  q: z.string().max(120).optional(),
}).strict();
export const SitePageSchema = pageOf(SiteSchema);
