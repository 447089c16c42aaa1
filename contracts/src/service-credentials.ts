import { z } from 'zod';
import { NameSchema } from './common.js';

/**
 * Credentials of the product's own services that call the API (today the backup server's
 * capacity reports): one bearer secret per service instance, shown once, stored hashed,
 * revocable; a route names the one service kind it admits (route access kind `service`).
 */
export const SERVICE_KINDS = ['backup-server'] as const;
export const ServiceKindSchema = z.enum(SERVICE_KINDS);
export type ServiceKind = z.infer<typeof ServiceKindSchema>;

export const CreateServiceCredentialSchema = z.object({ service: ServiceKindSchema, name: NameSchema }).strict();
export type CreateServiceCredential = z.infer<typeof CreateServiceCredentialSchema>;

export const ServiceCredentialSchema = z.object({
  id: z.uuid(),
  service: ServiceKindSchema,
  name: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
export type ServiceCredential = z.infer<typeof ServiceCredentialSchema>;
export const ServiceCredentialListSchema = z.object({ items: z.array(ServiceCredentialSchema) });

/** The answer to creating one: the secret appears here once and nowhere else. */
export const CreatedServiceCredentialSchema = ServiceCredentialSchema.extend({
  secret: z.string().describe('send as "Authorization: Bearer <secret>"; shown once'),
});
