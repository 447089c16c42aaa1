import { z } from 'zod';
import { PermissionSchema, RoleSchema } from './permissions.js';

/** bcrypt only reads 72 bytes; longer passwords are refused rather than silently truncated. */
export const PASSWORD_MAX_BYTES = 72;
export const PASSWORD_MIN_LENGTH = 12;

export const PasswordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .refine((p) => new TextEncoder().encode(p).length <= PASSWORD_MAX_BYTES, {
    message: `must be at most ${PASSWORD_MAX_BYTES} bytes (UTF-8)`,
  });

export const EmailSchema = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());

export const LoginRequestSchema = z.object({ email: EmailSchema, password: z.string().min(1).max(1024) }).strict();
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

export const SessionTokensSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number().int().describe('access token lifetime in seconds'),
  totpSetupRequired: z.boolean().describe('2FA is required: only TOTP setup is allowed until it is enabled'),
});
export type SessionTokens = z.infer<typeof SessionTokensSchema>;

export const MfaChallengeSchema = z.object({ mfaRequired: z.literal(true), mfaToken: z.string() });
export const LoginResponseSchema = z.union([SessionTokensSchema, MfaChallengeSchema]);
export type LoginResponse = z.infer<typeof LoginResponseSchema>;

export const TotpCodeSchema = z.string().regex(/^\d{6}$/, 'must be 6 digits');
export const RecoveryCodeSchema = z.string().regex(/^[a-z2-7]{5}-?[a-z2-7]{5}$/i, 'must look like xxxxx-xxxxx');

/** Second login step: a TOTP code or one recovery code, never both. */
export const TotpVerifyRequestSchema = z
  .object({ mfaToken: z.string().min(1).max(4096), code: TotpCodeSchema.optional(), recoveryCode: RecoveryCodeSchema.optional() })
  .strict()
  .refine((b) => (b.code === undefined) !== (b.recoveryCode === undefined), {
    message: 'give exactly one of code or recoveryCode',
  });

export const RefreshRequestSchema = z.object({ refreshToken: z.string().min(1).max(512).optional() }).strict();

export const TotpSetupResponseSchema = z.object({ otpauthUri: z.string(), secret: z.string() });
export const TotpEnableRequestSchema = z.object({ code: TotpCodeSchema }).strict();
export const TotpEnableResponseSchema = z.object({ recoveryCodes: z.array(z.string()).length(10) });
export const TotpDisableRequestSchema = z.object({ code: TotpCodeSchema, password: z.string().min(1).max(1024) }).strict();
export const StepUpRequestSchema = z.object({ code: TotpCodeSchema }).strict();
export const StepUpResponseSchema = z.object({ stepUpValidUntil: z.string() });

export const MeResponseSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  displayName: z.string(),
  role: RoleSchema,
  permissions: z.array(PermissionSchema),
  totpEnabled: z.boolean(),
  totpSetupRequired: z.boolean(),
  stepUpValidUntil: z.string().nullable(),
  authMethod: z.enum(['password', 'sso']).describe('how this session signed in: SSO sessions step up at their identity provider'),
  ssoProviderId: z.uuid().nullable(),
});
export type MeResponse = z.infer<typeof MeResponseSchema>;
