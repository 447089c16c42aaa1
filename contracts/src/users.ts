import { z } from 'zod';
import { NameSchema, PageQuerySchema, pageOf } from './common.js';
import { EmailSchema, PasswordSchema } from './auth.js';
import { RoleSchema } from './permissions.js';
import { UserIdentitySchema } from './sso.js';

export const UserStatusSchema = z.enum(['active', 'disabled']);

export const UserSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  displayName: z.string(),
  role: RoleSchema,
  status: UserStatusSchema,
  totpEnabled: z.boolean(),
  isLocked: z.boolean().describe('locked after too many failed logins; an administrator unlocks'),
  backoffUntil: z.string().nullable().describe('no login is checked before this time'),
  failedLoginCount: z.number().int(),
  lastLoginAt: z.string().nullable(),
  createdAt: z.string(),
  signIn: z
    .object({
      password: z.boolean().describe('has a local password (SSO-only accounts created at first SSO login have none)'),
      identities: z.array(UserIdentitySchema),
      breakGlass: z.boolean().describe('may sign in with the password while SSO is mandatory'),
    })
    .describe('how this operator signs in'),
});
export type User = z.infer<typeof UserSchema>;

export const CreateUserSchema = z
  .object({ email: EmailSchema, displayName: NameSchema, role: RoleSchema, password: PasswordSchema })
  .strict();
export const UpdateUserSchema = z
  .object({ displayName: NameSchema.optional(), role: RoleSchema.optional(), status: UserStatusSchema.optional() })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change' });
export const ChangePasswordSchema = z.object({ currentPassword: z.string().min(1).max(1024), newPassword: PasswordSchema }).strict();
export const ListUsersQuerySchema = PageQuerySchema.extend({
  role: RoleSchema.optional(),
  status: UserStatusSchema.optional(),
  q: z.string().max(120).optional(),
}).strict();
export const UserPageSchema = pageOf(UserSchema);

export const SecuritySettingsSchema = z.object({ requireTotp: z.boolean() });
export const UpdateSecuritySettingsSchema = z.object({ requireTotp: z.boolean() }).strict();
