import type { IdentityProvider } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import {
  certificatesOf,
  emptyProviderForm,
  moveRule,
  newProviderBody,
  providerFormOf,
  providerUpdateBody,
  withPreset,
} from './provider-form';

const CERT_BODY = 'MIIC'.padEnd(120, 'A');
const PEM = `-----BEGIN CERTIFICATE-----\n${CERT_BODY}\n-----END CERTIFICATE-----`;

function stored(): IdentityProvider {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    protocol: 'oidc',
    name: 'Corp',
    preset: 'generic',
    enabled: true,
    allowedEmailDomains: ['example.com'],
    roleRules: [{ group: 'soc', role: 'soc_operator' }],
    sessionMaxSeconds: 7200,
    saml: null,
    oidc: {
      issuer: 'https://idp.example.com',
      clientId: 'console',
      scopes: ['openid', 'email'],
      groupsClaim: 'groups',
      tenantId: null,
      hostedDomain: null,
      mfaAmrValues: ['mfa'],
      mfaAcrValues: [],
    },
    hasClientSecret: true,
    serviceProvider: { entityId: 'e', acsUrl: 'a', metadataUrl: 'm', redirectUri: 'r' },
    createdAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:00.000Z',
  };
}

describe('identity provider forms', () => {
  it('builds a SAML body from pasted certificates and listed domains', () => {
    const form = emptyProviderForm('saml');
    form.name = 'Entra';
    form.domains = 'Example.com, example.org\nexample.net';
    form.saml = { ...form.saml, idpEntityId: 'https://sts.example/x', ssoUrl: 'https://sts.example/saml', certificates: `${PEM}\n${PEM}` };
    const checked = newProviderBody(form);
    expect(checked.ok).toBe(true);
    if (!checked.ok || checked.body.protocol !== 'saml') return;
    expect(checked.body.allowedEmailDomains).toEqual(['example.com', 'example.org', 'example.net']);
    expect(checked.body.saml.idpCertificates).toHaveLength(2);
    expect(checked.body.sessionMaxSeconds).toBe(8 * 3600);
  });

  it('explains what is missing with the contract’s messages', () => {
    const checked = newProviderBody(emptyProviderForm('oidc'));
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.errors.join('\n')).toContain('allowedEmailDomains');
    expect(checked.errors.join('\n')).toContain('oidc.clientId');
  });

  it('keeps a stored client secret unless one is typed, and removes it when asked', () => {
    const form = providerFormOf(stored());
    const kept = providerUpdateBody(form);
    expect(kept.ok && 'clientSecret' in kept.body).toBe(false);
    const typed = providerUpdateBody({ ...form, oidc: { ...form.oidc, clientSecret: 'new-secret' } });
    expect(typed.ok && typed.body.clientSecret).toBe('new-secret');
    const removed = providerUpdateBody({ ...form, oidc: { ...form.oidc, removeSecret: true } });
    expect(removed.ok && removed.body.clientSecret).toBeNull();
    expect(kept.ok && kept.body.sessionMaxSeconds).toBe(7200);
  });

  it('fills the preset’s issuer and claims', () => {
    const entra = withPreset({ ...emptyProviderForm('oidc'), oidc: { ...emptyProviderForm('oidc').oidc, tenantId: 'abc' } }, 'entra');
    expect(entra.oidc.issuer).toBe('https://login.microsoftonline.com/abc/v2.0');
    expect(withPreset(emptyProviderForm('oidc'), 'google').oidc.issuer).toBe('https://accounts.google.com');
    expect(withPreset(emptyProviderForm('saml'), 'entra').saml.groupsAttribute).toContain('claims/groups');
  });

  it('reads bare base64 certificates separated by blank lines', () => {
    expect(certificatesOf(`${CERT_BODY}\n\n ${CERT_BODY.slice(0, 60)}\n${CERT_BODY.slice(60)}`)).toEqual([CERT_BODY, CERT_BODY]);
  });

  it('moves rules within bounds', () => {
    const rules = [
      { group: 'a', role: 'read_only' as const },
      { group: 'b', role: 'super_admin' as const },
    ];
    expect(moveRule(rules, 1, -1).map((r) => r.group)).toEqual(['b', 'a']);
    expect(moveRule(rules, 0, -1)).toBe(rules);
  });
});
