import { z } from 'zod';
import { IsoDateTimeSchema, NameSchema } from './common.js';
import { RoleSchema } from './permissions.js';

/**
 * Single sign-on: identity providers (SAML 2.0 and OpenID Connect), how their groups map to
 * roles, and the policy that can make SSO mandatory. Secrets (an OIDC client secret) are
 * write-only: sealed by the API and never returned.
 */

export const SSO_PROTOCOLS = ['saml', 'oidc'] as const;
export const SsoProtocolSchema = z.enum(SSO_PROTOCOLS);
export type SsoProtocol = z.infer<typeof SsoProtocolSchema>;

/** `entra` and `google` preset the claims and checks those providers need (tenant, hosted domain). */
export const SSO_PRESETS = ['entra', 'google', 'generic'] as const;
export const SsoPresetSchema = z.enum(SSO_PRESETS);
export type SsoPreset = z.infer<typeof SsoPresetSchema>;

/**
 * Why an SSO login or step-up was refused; the audit row's `details.reason`, and what the
 * sign-in page explains (`/sign-in?sso_error=<reason>`).
 */
export const SSO_FAILURE_REASONS = [
  'provider_unknown',
  'provider_disabled',
  'idp_error',
  'malformed',
  'unsigned',
  'bad_signature',
  'wrong_issuer',
  'wrong_audience',
  'wrong_destination',
  'wrong_recipient',
  'expired',
  'not_yet_valid',
  'replay',
  'unknown_request',
  'state_mismatch',
  'nonce_mismatch',
  'decrypt_failed',
  'token_invalid',
  'subject_missing',
  'email_missing',
  'tenant_refused',
  'hosted_domain_refused',
  'domain_refused',
  'unknown_group',
  'email_taken',
  'user_disabled',
  'subject_mismatch',
  'reauth_missing',
  'mfa_missing',
] as const;
export const SsoFailureReasonSchema = z.enum(SSO_FAILURE_REASONS);
export type SsoFailureReason = z.infer<typeof SsoFailureReasonSchema>;

export const SSO_FAILURE_MESSAGES: Record<SsoFailureReason, string> = {
  provider_unknown: 'This sign-in provider does not exist.',
  provider_disabled: 'This sign-in provider is turned off.',
  idp_error: 'The identity provider reported an error.',
  malformed: 'The identity provider’s answer could not be read.',
  unsigned: 'The identity provider’s answer was not signed.',
  bad_signature: 'The identity provider’s signature did not verify.',
  wrong_issuer: 'The answer came from another identity provider.',
  wrong_audience: 'The answer was meant for another application.',
  wrong_destination: 'The answer was sent to another address.',
  wrong_recipient: 'The answer was meant for another address.',
  expired: 'The identity provider’s answer has expired: sign in again.',
  not_yet_valid: 'The identity provider’s answer is not valid yet (clock skew).',
  replay: 'This answer was already used: sign in again.',
  unknown_request: 'The answer does not belong to a sign-in started here: sign in again.',
  state_mismatch: 'The sign-in was started in another browser or has expired: sign in again.',
  nonce_mismatch: 'The identity provider’s token does not belong to this sign-in.',
  decrypt_failed: 'The encrypted assertion could not be decrypted.',
  token_invalid: 'The identity provider’s token did not verify.',
  subject_missing: 'The identity provider sent no stable user identifier.',
  email_missing: 'The identity provider sent no e-mail address.',
  tenant_refused: 'Accounts of this Microsoft tenant are not allowed.',
  hosted_domain_refused: 'Accounts of this Google Workspace domain are not allowed.',
  domain_refused: 'Accounts of this e-mail domain are not allowed.',
  unknown_group: 'None of your groups gives access to the console.',
  email_taken: 'A local account already uses this e-mail: an administrator must link it first.',
  user_disabled: 'Your account is disabled.',
  subject_mismatch: 'Re-authenticate as the same user who is signed in.',
  reauth_missing: 'The identity provider did not ask for your credentials again.',
  mfa_missing: 'The identity provider did not confirm multi-factor authentication.',
};

/** Group (or role) claim value → role; the first rule whose group the user has wins, no match = no access. */
export const RoleRuleSchema = z.object({ group: z.string().trim().min(1).max(256), role: RoleSchema }).strict();
export type RoleRule = z.infer<typeof RoleRuleSchema>;

const DomainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a domain name like example.com');

const HttpsOrLocalUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048);

/** A PEM or bare base64 X.509 certificate; the API checks that it parses. */
const CertificateSchema = z.string().trim().min(100).max(16_384);
const ClaimNameSchema = z.string().trim().min(1).max(256);
const ClaimValuesSchema = z.array(z.string().trim().min(1).max(256)).max(20);

export const SamlSettingsSchema = z
  .object({
    idpEntityId: z.string().trim().min(1).max(1024),
    ssoUrl: HttpsOrLocalUrlSchema.describe('the IdP’s SingleSignOnService (HTTP-Redirect binding)'),
    idpCertificates: z.array(CertificateSchema).min(1).max(4).describe('signing certificates; two during a rollover'),
    metadataUrl: HttpsOrLocalUrlSchema.nullable().default(null),
    groupsAttribute: ClaimNameSchema.describe('the attribute carrying the group or role values'),
    emailAttribute: ClaimNameSchema.nullable().default(null).describe('null = the NameID is the e-mail'),
    displayNameAttribute: ClaimNameSchema.nullable().default(null),
    mfaAuthnContexts: ClaimValuesSchema.describe('AuthnContextClassRef values that prove multi-factor authentication'),
    signAuthnRequests: z.boolean().default(false),
    encryptAssertions: z
      .boolean()
      .default(false)
      .describe('the SP metadata offers an encryption key; encrypted assertions are accepted either way'),
  })
  .strict();
export type SamlSettings = z.infer<typeof SamlSettingsSchema>;

export const OidcSettingsSchema = z
  .object({
    issuer: HttpsOrLocalUrlSchema,
    clientId: z.string().trim().min(1).max(512),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/, 'not a scope token'))
      .max(20)
      .default(['openid', 'email', 'profile']),
    groupsClaim: ClaimNameSchema.default('groups'),
    tenantId: z.string().trim().min(1).max(128).nullable().default(null).describe('Entra ID: only this tenant’s tokens (`tid`)'),
    hostedDomain: DomainSchema.nullable().default(null).describe('Google Workspace: only this domain (`hd`)'),
    mfaAmrValues: ClaimValuesSchema.default(['mfa', 'otp', 'hwk', 'swk', 'sms', 'fido']),
    mfaAcrValues: ClaimValuesSchema.default([]),
  })
  .strict();
export type OidcSettings = z.infer<typeof OidcSettingsSchema>;

const CommonProviderFields = {
  name: NameSchema,
  preset: SsoPresetSchema.default('generic'),
  enabled: z.boolean().default(true),
  allowedEmailDomains: z.array(DomainSchema).min(1, 'list at least one e-mail domain').max(50),
  roleRules: z.array(RoleRuleSchema).max(100),
  sessionMaxSeconds: z
    .number()
    .int()
    .min(300)
    .max(7 * 86_400)
    .default(8 * 3600)
    .describe('an SSO session ends after this, refreshed or not'),
};

export const CreateIdentityProviderSchema = z.discriminatedUnion('protocol', [
  z.object({ protocol: z.literal('saml'), ...CommonProviderFields, saml: SamlSettingsSchema }).strict(),
  z
    .object({
      protocol: z.literal('oidc'),
      ...CommonProviderFields,
      oidc: OidcSettingsSchema,
      clientSecret: z.string().min(1).max(2048).nullable().describe('sealed; null = a public client (PKCE only)'),
    })
    .strict(),
]);
export type CreateIdentityProvider = z.infer<typeof CreateIdentityProviderSchema>;

/** Every field optional; `clientSecret` absent = unchanged, null = removed. */
export const UpdateIdentityProviderSchema = z
  .object({
    name: NameSchema.optional(),
    preset: SsoPresetSchema.optional(),
    enabled: z.boolean().optional(),
    allowedEmailDomains: CommonProviderFields.allowedEmailDomains.optional(),
    roleRules: CommonProviderFields.roleRules.optional(),
    sessionMaxSeconds: z
      .number()
      .int()
      .min(300)
      .max(7 * 86_400)
      .optional(),
    saml: SamlSettingsSchema.optional(),
    oidc: OidcSettingsSchema.optional(),
    clientSecret: z.string().min(1).max(2048).nullable().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change' });
export type UpdateIdentityProvider = z.infer<typeof UpdateIdentityProviderSchema>;

/** What the service provider side looks like, to register it at the IdP. */
export const SsoServiceProviderInfoSchema = z.object({
  entityId: z.string().describe('SAML: the SP entity id (audience)'),
  acsUrl: z.string().describe('SAML: Assertion Consumer Service (HTTP-POST)'),
  metadataUrl: z.string().describe('SAML: the SP metadata'),
  redirectUri: z.string().describe('OIDC: the redirect URI to register'),
});

export const IdentityProviderSchema = z.object({
  id: z.uuid(),
  protocol: SsoProtocolSchema,
  name: z.string(),
  preset: SsoPresetSchema,
  enabled: z.boolean(),
  allowedEmailDomains: z.array(z.string()),
  roleRules: z.array(RoleRuleSchema),
  sessionMaxSeconds: z.number().int(),
  saml: SamlSettingsSchema.nullable(),
  oidc: OidcSettingsSchema.nullable(),
  hasClientSecret: z.boolean(),
  serviceProvider: SsoServiceProviderInfoSchema,
  createdAt: IsoDateTimeSchema,
  updatedAt: IsoDateTimeSchema,
});
export type IdentityProvider = z.infer<typeof IdentityProviderSchema>;
export const IdentityProviderListSchema = z.object({ items: z.array(IdentityProviderSchema) });

/** The sign-in page's buttons: enabled providers only, nothing secret. */
export const SsoSignInOptionSchema = z.object({ id: z.uuid(), name: z.string(), protocol: SsoProtocolSchema, preset: SsoPresetSchema });
export const SsoSignInOptionsSchema = z.object({
  providers: z.array(SsoSignInOptionSchema),
  ssoRequired: z.boolean().describe('local passwords work only for break-glass accounts'),
});
export type SsoSignInOptions = z.infer<typeof SsoSignInOptionsSchema>;

/** `returnTo`: a console path to land on afterwards (same origin only). */
export const ReturnToSchema = z
  .string()
  .max(1024)
  .regex(/^\/(?![/\\])[\x21-\x7e]*$/, 'must be a path on the console, starting with a single /');
export const SsoLoginQuerySchema = z.object({ returnTo: ReturnToSchema.optional() }).strict();
export const SsoStepUpRequestSchema = z.object({ returnTo: ReturnToSchema.optional() }).strict();
export const SsoRedirectSchema = z.object({ redirectUrl: z.string() });

export const RolePreviewRequestSchema = z.object({ groups: z.array(z.string().min(1).max(256)).max(500) }).strict();
export const RolePreviewResponseSchema = z.object({
  role: RoleSchema.nullable().describe('null = no access'),
  matchedRule: z.number().int().nullable().describe('index of the first matching rule'),
});

/** Import a SAML IdP from its metadata (URL fetched by the API, or the XML itself). */
export const SamlMetadataImportRequestSchema = z
  .object({
    metadataUrl: HttpsOrLocalUrlSchema.optional(),
    metadataXml: z
      .string()
      .min(1)
      .max(512 * 1024)
      .optional(),
  })
  .strict()
  .refine((b) => (b.metadataUrl === undefined) !== (b.metadataXml === undefined), {
    message: 'give exactly one of metadataUrl or metadataXml',
  });
export const SamlMetadataImportResponseSchema = z.object({
  idpEntityId: z.string(),
  ssoUrl: z.string(),
  idpCertificates: z.array(z.string()),
  metadataUrl: z.string().nullable(),
});

export const OidcDiscoveryRequestSchema = z.object({ issuer: HttpsOrLocalUrlSchema }).strict();
export const OidcDiscoveryResponseSchema = z.object({
  issuer: z.string(),
  authorizationEndpoint: z.string(),
  tokenEndpoint: z.string(),
  jwksUri: z.string(),
  codeChallengeMethods: z.array(z.string()),
});

export const SsoConnectionTestSchema = z.object({
  ok: z.boolean(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
});

export const SsoPolicySchema = z.object({
  ssoRequired: z.boolean(),
  breakGlassUserIds: z.array(z.uuid()).describe('local accounts that may still sign in with a password'),
});
export type SsoPolicy = z.infer<typeof SsoPolicySchema>;
export const UpdateSsoPolicySchema = z
  .object({ ssoRequired: z.boolean(), breakGlassUserIds: z.array(z.uuid()).max(20) })
  .strict()
  .refine((b) => new Set(b.breakGlassUserIds).size === b.breakGlassUserIds.length, { message: 'breakGlassUserIds lists a user twice' });

/** An SSO identity linked to an operator account. */
export const UserIdentitySchema = z.object({
  id: z.uuid(),
  providerId: z.uuid(),
  subject: z.string(),
  lastLoginAt: IsoDateTimeSchema.nullable(),
  createdAt: IsoDateTimeSchema,
});
export type UserIdentity = z.infer<typeof UserIdentitySchema>;
export const LinkIdentityRequestSchema = z.object({ providerId: z.uuid(), subject: z.string().trim().min(1).max(512) }).strict();
export const UserIdentityParamsSchema = z.object({ id: z.uuid(), identityId: z.uuid() }).strict();
