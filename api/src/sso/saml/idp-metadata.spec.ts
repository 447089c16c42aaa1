import 'reflect-metadata';
import { X509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDP_METADATA_MAX_BYTES, parseIdpMetadata } from './idp-metadata.js';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

async function certificateBase64(cn: string): Promise<string> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${cn}`,
    notBefore: new Date('2024-01-01T00:00:00Z'),
    notAfter: new Date('2034-01-01T00:00:00Z'),
    signingAlgorithm: ALGORITHM,
    keys: keys as never,
  });
  return Buffer.from(certificate.rawData).toString('base64');
}

function keyDescriptor(base64: string, use?: string): string {
  return `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
    ${base64.replace(/(.{64})/g, '$1\n    ')}
  </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
}

function metadata(inner: string, entityId = 'https://idp.example.com/entity'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">
${inner}
</md:EntityDescriptor>`;
}

function idpDescriptor(keys: string, services?: string): string {
  return `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
  ${keys}
  ${
    services ??
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/post"/>
  <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/redirect"/>`
  }
</md:IDPSSODescriptor>`;
}

describe('parseIdpMetadata', () => {
  let signing: string;
  let rollover: string;
  let encryption: string;
  let wsFed: string;

  beforeAll(async () => {
    [signing = '', rollover = '', encryption = '', wsFed = ''] = await Promise.all(
      ['signing', 'rollover', 'encryption', 'ws-fed'].map(certificateBase64),
    );
  });

  it('reads the entity id, the HTTP-Redirect SSO URL and the signing certificates as PEM', () => {
    const xml = metadata(
      idpDescriptor(keyDescriptor(signing, 'signing') + keyDescriptor(rollover) + keyDescriptor(encryption, 'encryption')),
    );
    const parsed = parseIdpMetadata(xml);
    expect(parsed.idpEntityId).toBe('https://idp.example.com/entity');
    expect(parsed.ssoUrl).toBe('https://idp.example.com/redirect');
    expect(parsed.idpCertificates).toHaveLength(2);
    expect(parsed.idpCertificates[0]).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(new X509Certificate(parsed.idpCertificates[0]!).subject).toBe('CN=signing');
    expect(new X509Certificate(parsed.idpCertificates[1]!).subject).toBe('CN=rollover');
  });

  it('takes keys from the IDPSSODescriptor only, not from other roles of the entity (Entra WS-Federation)', () => {
    const roleDescriptor = `<md:RoleDescriptor xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706">${keyDescriptor(wsFed, 'signing')}</md:RoleDescriptor>`;
    const parsed = parseIdpMetadata(metadata(roleDescriptor + idpDescriptor(keyDescriptor(signing, 'signing'))));
    expect(parsed.idpCertificates.map((pem) => new X509Certificate(pem).subject)).toEqual(['CN=signing']);
  });

  it('reads metadata in the default namespace (ADFS writes no md: prefix)', () => {
    const xml = `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://adfs.example.com/adfs/services/trust">
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${signing}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://adfs.example.com/adfs/ls/"/>
  </IDPSSODescriptor>
</EntityDescriptor>`;
    expect(parseIdpMetadata(xml)).toMatchObject({
      idpEntityId: 'http://adfs.example.com/adfs/services/trust',
      ssoUrl: 'https://adfs.example.com/adfs/ls/',
    });
  });

  it('ignores elements of the right name in another namespace', () => {
    const xml = metadata(
      idpDescriptor(keyDescriptor(signing))
        .replace(/<md:IDPSSODescriptor/, '<md:IDPSSODescriptor xmlns:x="urn:other"')
        .replace(
          /<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"/,
          '<x:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"',
        ),
    );
    expect(() => parseIdpMetadata(xml)).toThrow(/HTTP-Redirect/);
  });

  it('reads one entity out of an EntitiesDescriptor', () => {
    const xml = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">${metadata(
      idpDescriptor(keyDescriptor(signing)),
      'https://one.example.com',
    ).replace(/^<\?xml[^>]*>/, '')}</md:EntitiesDescriptor>`;
    expect(parseIdpMetadata(xml).idpEntityId).toBe('https://one.example.com');
  });

  it('refuses a DOCTYPE or entity declaration before parsing', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>${metadata(idpDescriptor(keyDescriptor(signing))).replace(/^<\?xml[^>]*>/, '')}`;
    expect(() => parseIdpMetadata(bomb)).toThrow(/DOCTYPE/);
    expect(() => parseIdpMetadata('<!ENTITY x "y"><a/>')).toThrow(/DOCTYPE or entity/);
  });

  it('refuses a document over the size limit', () => {
    const padding = `<!--${'x'.repeat(IDP_METADATA_MAX_BYTES)}-->`;
    expect(() => parseIdpMetadata(metadata(padding + idpDescriptor(keyDescriptor(signing))))).toThrow(/larger than 512 KiB/);
  });

  it('refuses what is not SAML metadata or not XML', () => {
    expect(() => parseIdpMetadata('<html><body>sign in</body></html>')).toThrow(/not SAML 2.0 metadata/);
    expect(() => parseIdpMetadata('{"issuer":"x"}')).toThrow(/not (well-formed )?XML/);
    expect(() => parseIdpMetadata('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"')).toThrow(/well-formed/);
  });

  it('refuses metadata without an IdP, an HTTP-Redirect endpoint or a signing certificate', () => {
    const sp = `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>`;
    expect(() => parseIdpMetadata(metadata(sp))).toThrow(/no IDPSSODescriptor/);
    const postOnly = `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/post"/>`;
    expect(() => parseIdpMetadata(metadata(idpDescriptor(keyDescriptor(signing), postOnly)))).toThrow(/HTTP-Redirect/);
    const javascript = `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="javascript:alert(1)"/>`;
    expect(() => parseIdpMetadata(metadata(idpDescriptor(keyDescriptor(signing), javascript)))).toThrow(/not an http\(s\) URL/);
    expect(() => parseIdpMetadata(metadata(idpDescriptor(keyDescriptor(encryption, 'encryption'))))).toThrow(/no signing certificate/);
    expect(() => parseIdpMetadata(metadata(idpDescriptor(keyDescriptor('bm90IGEgY2VydGlmaWNhdGU='))))).toThrow(/X\.509/);
    expect(() => parseIdpMetadata(metadata(idpDescriptor(keyDescriptor(signing)), ''))).toThrow(/no entityID/);
  });

  it('refuses an EntitiesDescriptor with several identity providers', () => {
    const one = (id: string) => metadata(idpDescriptor(keyDescriptor(signing)), id).replace(/^<\?xml[^>]*>/, '');
    const xml = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">${one('https://a.example.com')}${one('https://b.example.com')}</md:EntitiesDescriptor>`;
    expect(() => parseIdpMetadata(xml)).toThrow(/2 identity providers/);
  });
});
