import {
  CreateIdentityProviderSchema,
  UpdateIdentityProviderSchema,
  type CreateIdentityProvider,
  type IdentityProvider,
  type RoleRule,
  type SsoPreset,
  type SsoProtocol,
  type UpdateIdentityProvider,
} from '@xspectre/contracts';

/**
 * The identity-provider editor's state as the operator types it (lists as text), and its
 * conversion to the wire bodies of contracts/src/sso.ts; the contract's schemas check it before
 * anything is sent, so the operator sees the same messages the API would give.
 */
export interface ProviderForm {
  protocol: SsoProtocol;
  name: string;
  preset: SsoPreset;
  enabled: boolean;
  /** Domains separated by commas, spaces or lines. */
  domains: string;
  sessionHours: string;
  roleRules: RoleRule[];
  saml: {
    idpEntityId: string;
    ssoUrl: string;
    /** PEM blocks or base64 bodies, one after the other. */
    certificates: string;
    metadataUrl: string;
    groupsAttribute: string;
    emailAttribute: string;
    displayNameAttribute: string;
    mfaAuthnContexts: string;
    signAuthnRequests: boolean;
    encryptAssertions: boolean;
  };
  oidc: {
    issuer: string;
    clientId: string;
    /** Typed here only; empty when editing = the stored secret stays. */
    clientSecret: string;
    removeSecret: boolean;
    scopes: string;
    groupsClaim: string;
    tenantId: string;
    hostedDomain: string;
    mfaAmrValues: string;
    mfaAcrValues: string;
  };
}

/** What each preset fills in for a new provider (the claims Entra ID and Google send by default). */
const SAML_PRESET: Record<
  SsoPreset,
  Pick<ProviderForm['saml'], 'groupsAttribute' | 'emailAttribute' | 'displayNameAttribute' | 'mfaAuthnContexts'>
> = {
  entra: {
    groupsAttribute: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
    emailAttribute: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
    displayNameAttribute: 'http://schemas.microsoft.com/identity/claims/displayname',
    mfaAuthnContexts: 'http://schemas.microsoft.com/claims/multipleauthn',
  },
  google: { groupsAttribute: 'groups', emailAttribute: '', displayNameAttribute: '', mfaAuthnContexts: '' },
  generic: { groupsAttribute: 'groups', emailAttribute: 'email', displayNameAttribute: 'displayName', mfaAuthnContexts: '' },
};

export const ENTRA_ISSUER = (tenant: string) => `https://login.microsoftonline.com/${tenant || '<tenant id>'}/v2.0`;
export const GOOGLE_ISSUER = 'https://accounts.google.com';
const DEFAULT_AMR = 'mfa, otp, hwk, swk, sms, fido';

export function emptyProviderForm(protocol: SsoProtocol, preset: SsoPreset = 'generic'): ProviderForm {
  return withPreset(
    {
      protocol,
      name: '',
      preset,
      enabled: true,
      domains: '',
      sessionHours: '8',
      roleRules: [],
      saml: {
        idpEntityId: '',
        ssoUrl: '',
        certificates: '',
        metadataUrl: '',
        groupsAttribute: '',
        emailAttribute: '',
        displayNameAttribute: '',
        mfaAuthnContexts: '',
        signAuthnRequests: false,
        encryptAssertions: false,
      },
      oidc: {
        issuer: '',
        clientId: '',
        clientSecret: '',
        removeSecret: false,
        scopes: 'openid email profile',
        groupsClaim: 'groups',
        tenantId: '',
        hostedDomain: '',
        mfaAmrValues: DEFAULT_AMR,
        mfaAcrValues: '',
      },
    },
    preset,
  );
}

/** A new form switched to `preset`: its default claims, and the issuer Entra ID or Google uses. */
export function withPreset(form: ProviderForm, preset: SsoPreset): ProviderForm {
  const oidc = { ...form.oidc };
  if (preset === 'entra') {
    oidc.issuer = ENTRA_ISSUER(oidc.tenantId);
    oidc.groupsClaim = 'groups';
  } else if (preset === 'google') {
    oidc.issuer = GOOGLE_ISSUER;
  }
  return { ...form, preset, saml: { ...form.saml, ...SAML_PRESET[preset] }, oidc };
}

export function providerFormOf(p: IdentityProvider): ProviderForm {
  const form = emptyProviderForm(p.protocol, p.preset);
  form.name = p.name;
  form.enabled = p.enabled;
  form.domains = p.allowedEmailDomains.join(', ');
  form.sessionHours = String(Math.round((p.sessionMaxSeconds / 3600) * 100) / 100);
  form.roleRules = p.roleRules;
  if (p.saml) {
    form.saml = {
      idpEntityId: p.saml.idpEntityId,
      ssoUrl: p.saml.ssoUrl,
      certificates: p.saml.idpCertificates.join('\n\n'),
      metadataUrl: p.saml.metadataUrl ?? '',
      groupsAttribute: p.saml.groupsAttribute,
      emailAttribute: p.saml.emailAttribute ?? '',
      displayNameAttribute: p.saml.displayNameAttribute ?? '',
      mfaAuthnContexts: p.saml.mfaAuthnContexts.join(', '),
      signAuthnRequests: p.saml.signAuthnRequests,
      encryptAssertions: p.saml.encryptAssertions,
    };
  }
  if (p.oidc) {
    form.oidc = {
      issuer: p.oidc.issuer,
      clientId: p.oidc.clientId,
      clientSecret: '',
      removeSecret: false,
      scopes: p.oidc.scopes.join(' '),
      groupsClaim: p.oidc.groupsClaim,
      tenantId: p.oidc.tenantId ?? '',
      hostedDomain: p.oidc.hostedDomain ?? '',
      mfaAmrValues: p.oidc.mfaAmrValues.join(', '),
      mfaAcrValues: p.oidc.mfaAcrValues.join(', '),
    };
  }
  return form;
}

/** "a.com, b.com\nc.com" → ['a.com', 'b.com', 'c.com']. */
export function listOf(text: string, separator: RegExp = /[\s,;]+/): string[] {
  return text
    .split(separator)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Certificates pasted one after the other: PEM blocks, or bare base64 bodies separated by blank lines. */
export function certificatesOf(text: string): string[] {
  const pem = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (pem) return pem.map((c) => c.trim());
  return text
    .split(/\n\s*\n/)
    .map((c) => c.replace(/\s+/g, ''))
    .filter(Boolean);
}

const orNull = (s: string) => (s.trim() === '' ? null : s.trim());

function samlSettings(f: ProviderForm['saml']) {
  return {
    idpEntityId: f.idpEntityId.trim(),
    ssoUrl: f.ssoUrl.trim(),
    idpCertificates: certificatesOf(f.certificates),
    metadataUrl: orNull(f.metadataUrl),
    groupsAttribute: f.groupsAttribute.trim(),
    emailAttribute: orNull(f.emailAttribute),
    displayNameAttribute: orNull(f.displayNameAttribute),
    mfaAuthnContexts: listOf(f.mfaAuthnContexts, /[\s,]+/),
    signAuthnRequests: f.signAuthnRequests,
    encryptAssertions: f.encryptAssertions,
  };
}

function oidcSettings(f: ProviderForm['oidc']) {
  return {
    issuer: f.issuer.trim(),
    clientId: f.clientId.trim(),
    scopes: listOf(f.scopes, /\s+/),
    groupsClaim: f.groupsClaim.trim(),
    tenantId: orNull(f.tenantId),
    hostedDomain: orNull(f.hostedDomain),
    mfaAmrValues: listOf(f.mfaAmrValues),
    mfaAcrValues: listOf(f.mfaAcrValues, /[\s,]+/),
  };
}

const sessionSeconds = (hours: string) => Math.round(Number(hours) * 3600);

export type Checked<T> = { ok: true; body: T } | { ok: false; errors: string[] };

function issues(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): string[] {
  return error.issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message));
}

export function newProviderBody(form: ProviderForm): Checked<CreateIdentityProvider> {
  const common = {
    name: form.name,
    preset: form.preset,
    enabled: form.enabled,
    allowedEmailDomains: listOf(form.domains),
    roleRules: form.roleRules,
    sessionMaxSeconds: sessionSeconds(form.sessionHours),
  };
  const body =
    form.protocol === 'saml'
      ? { protocol: 'saml' as const, ...common, saml: samlSettings(form.saml) }
      : { protocol: 'oidc' as const, ...common, oidc: oidcSettings(form.oidc), clientSecret: orNull(form.oidc.clientSecret) };
  const parsed = CreateIdentityProviderSchema.safeParse(body);
  return parsed.success ? { ok: true, body: parsed.data } : { ok: false, errors: issues(parsed.error) };
}

/** Everything but the rules (edited beside the provider); the secret only when typed or removed. */
export function providerUpdateBody(form: ProviderForm): Checked<UpdateIdentityProvider> {
  const body: Record<string, unknown> = {
    name: form.name,
    preset: form.preset,
    enabled: form.enabled,
    allowedEmailDomains: listOf(form.domains),
    sessionMaxSeconds: sessionSeconds(form.sessionHours),
  };
  if (form.protocol === 'saml') body.saml = samlSettings(form.saml);
  else {
    body.oidc = oidcSettings(form.oidc);
    if (form.oidc.removeSecret) body.clientSecret = null;
    else if (form.oidc.clientSecret !== '') body.clientSecret = form.oidc.clientSecret;
  }
  const parsed = UpdateIdentityProviderSchema.safeParse(body);
  return parsed.success ? { ok: true, body: parsed.data } : { ok: false, errors: issues(parsed.error) };
}

/** Moves rule `index` by `delta` (−1 up, +1 down); order matters: the first match wins. */
export function moveRule(rules: RoleRule[], index: number, delta: -1 | 1): RoleRule[] {
  const to = index + delta;
  if (to < 0 || to >= rules.length) return rules;
  const next = [...rules];
  [next[index], next[to]] = [next[to]!, next[index]!];
  return next;
}
