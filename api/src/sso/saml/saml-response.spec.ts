import { createHash, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SsoFailureReason } from '@xspectre/contracts';
import {
  AUTHN_CONTEXT_PASSWORD,
  SamlIdp,
  tamperAttributeValue,
  type SamlAuthnRequest,
  type SamlIdpUser,
  type SamlResponseOptions,
  type XswVariant,
} from '../../../test/support/saml-idp.js';
import { SsoFailure, type ServiceProviderUrls } from '../sso-assertion.js';
import { decodeSamlResponse, SAML_RESPONSE_MAX_BYTES } from './saml-protocol.js';
import { verifySamlResponse, type SamlResponseContext } from './saml-response.js';
import { deriveSpCertificate, spCertificate } from './sp-certificate.js';

const sp: ServiceProviderUrls = {
  entityId: 'https://console.test/api/v1/auth/sso/saml/p1/metadata',
  acsUrl: 'https://console.test/api/v1/auth/sso/saml/p1/acs',
  metadataUrl: 'https://console.test/api/v1/auth/sso/saml/p1/metadata',
  redirectUri: 'https://console.test/api/v1/auth/sso/oidc/p1/callback',
};
const request: SamlAuthnRequest = {
  id: '_request1',
  issuer: sp.entityId,
  acsUrl: sp.acsUrl,
  destination: null,
  forceAuthn: false,
  relayState: 'state',
  sigAlg: null,
  signed: false,
  signedQuery: null,
  signature: null,
};
const alice: SamlIdpUser = {
  nameId: 'alice-0001',
  email: 'alice@example.com',
  displayName: 'Alice Admin',
  groups: ['xs-admins', 'everyone'],
};

let idp: SamlIdp;
let spKey: KeyObject;
let spCertPem: string;

function keyIdOf(key: KeyObject): string {
  return createHash('sha256')
    .update(createPublicKey(key).export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);
}

beforeAll(async () => {
  idp = await SamlIdp.create('https://idp.example.test/saml');
  spKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  spCertPem = (await spCertificate(keyIdOf(spKey), spKey)).pem;
});

function context(overrides: Partial<SamlResponseContext> = {}): SamlResponseContext {
  return {
    settings: idp.samlSettings(),
    sp,
    expectedRequestId: request.id,
    certificates: [idp.certificatePem],
    decryptionKeys: [spKey],
    now: new Date(),
    clockSkewSeconds: 60,
    ...overrides,
  };
}

async function verify(options: SamlResponseOptions = {}, ctx: Partial<SamlResponseContext> = {}, user = alice) {
  return verifySamlResponse(await idp.buildResponse(request, user, options), context(ctx));
}

async function refusal(options: SamlResponseOptions, ctx: Partial<SamlResponseContext> = {}): Promise<SsoFailureReason> {
  try {
    const result = await verify(options, ctx);
    throw new Error(`accepted (subject ${result.assertion.subject})`);
  } catch (error) {
    if (error instanceof SsoFailure) return error.reason;
    throw error;
  }
}

describe('verifySamlResponse: accepted answers', () => {
  it('reads a signed assertion: NameID, attributes, AuthnInstant, MFA from the class reference', async () => {
    const authnInstant = new Date(Date.now() - 2_000);
    const result = await verify({ authnInstant });
    expect(result.assertion).toEqual({
      subject: 'alice-0001',
      email: 'alice@example.com',
      displayName: 'Alice Admin',
      groups: ['xs-admins', 'everyone'],
      authenticatedAt: new Date(Math.floor(authnInstant.getTime())),
      mfa: true,
    });
    expect(result.assertionId).toMatch(/^_a/);
    expect(result.notOnOrAfter.getTime()).toBeGreaterThan(Date.now());
  });

  it('accepts a signed response with an unsigned assertion, and both signed', async () => {
    expect((await verify({ sign: 'response' })).assertion.subject).toBe('alice-0001');
    expect((await verify({ sign: 'both' })).assertion.subject).toBe('alice-0001');
  });

  it('judges MFA: false for a password context, null when the IdP names none', async () => {
    expect((await verify({ authnContextClassRef: AUTHN_CONTEXT_PASSWORD })).assertion.mfa).toBe(false);
    expect((await verify({ authnContextClassRef: null })).assertion.mfa).toBeNull();
  });

  it('takes the NameID as e-mail when no e-mail attribute is configured; missing attributes are null / empty', async () => {
    const settings = idp.samlSettings({ emailAttribute: null, displayNameAttribute: null });
    const result = await verify({ nameId: 'bob@example.com', attributes: {} }, { settings });
    expect(result.assertion).toMatchObject({ subject: 'bob@example.com', email: 'bob@example.com', displayName: null, groups: [] });
    expect((await verify({ attributes: {} })).assertion).toMatchObject({ email: null, displayName: null, groups: [] });
  });

  it('certificate rollover: either configured certificate verifies; a key never configured does not', async () => {
    const certificates = [idp.certificatePem, idp.rolloverCertificatePem];
    expect((await verify({ signingKey: 'primary' }, { certificates })).assertion.subject).toBe('alice-0001');
    expect((await verify({ signingKey: 'rollover' }, { certificates })).assertion.subject).toBe('alice-0001');
    expect(await refusal({ signingKey: 'unknown' }, { certificates })).toBe('bad_signature');
    expect(await refusal({ signingKey: 'rollover' })).toBe('bad_signature');
  });

  it('decrypts an encrypted assertion (AES-GCM, and AES-CBC as Entra ID sends), signed inside or by the response', async () => {
    for (const encryptionAlgorithm of ['aes256-gcm', 'aes256-cbc'] as const) {
      const result = await verify({ encryptFor: spCertPem, encryptionAlgorithm });
      expect(result.assertion.groups).toEqual(['xs-admins', 'everyone']);
    }
    expect((await verify({ encryptFor: spCertPem, sign: 'response' })).assertion.subject).toBe('alice-0001');
  });

  it('tries every SP key: an assertion encrypted for the previous key still decrypts during a rotation', async () => {
    const newKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const result = await verify({ encryptFor: spCertPem }, { decryptionKeys: [newKey, spKey] });
    expect(result.assertion.subject).toBe('alice-0001');
  });

  it('accepts validity within the clock skew', async () => {
    expect((await verify({ notBefore: new Date(Date.now() + 30_000) })).assertion.subject).toBe('alice-0001');
    expect((await verify({ notOnOrAfter: new Date(Date.now() - 30_000) })).assertion.subject).toBe('alice-0001');
  });

  it('comments inside the NameID cannot shorten it: the whole signed value is the subject', async () => {
    const result = await verify({ nameId: 'admin@example.com.attacker.test', xsw: 'comment-in-nameid' });
    expect(result.assertion.subject).toBe('admin@example.com.attacker.test');
  });
});

describe('verifySamlResponse: refused answers', () => {
  it('unsigned response and assertion → unsigned', async () => {
    expect(await refusal({ sign: 'none' })).toBe('unsigned');
  });

  it('an attribute changed after signing → bad_signature (assertion or response signed)', async () => {
    expect(await refusal({ tamper: tamperAttributeValue('everyone', 'xs-admins') })).toBe('bad_signature');
    expect(await refusal({ sign: 'response', tamper: tamperAttributeValue('everyone', 'xs-admins') })).toBe('bad_signature');
  });

  it('SHA-1 signatures → bad_signature', async () => {
    expect(await refusal({ signatureAlgorithm: 'sha1' })).toBe('bad_signature');
  });

  it.each<[string, SamlResponseOptions, SsoFailureReason]>([
    ['another issuer', { issuer: 'https://evil.test/idp' }, 'wrong_issuer'],
    ['another response issuer', { responseIssuer: 'https://evil.test/idp' }, 'wrong_issuer'],
    ['another audience', { audience: 'https://other-app.test/sp' }, 'wrong_audience'],
    ['another destination', { destination: 'https://other-app.test/acs' }, 'wrong_destination'],
    ['another recipient', { recipient: 'https://other-app.test/acs' }, 'wrong_recipient'],
    ['an answer to another request', { inResponseTo: '_another-request' }, 'unknown_request'],
    ['an unsolicited answer (no InResponseTo)', { inResponseTo: null }, 'unknown_request'],
    ['an expired assertion', { notOnOrAfter: new Date(Date.now() - 120_000) }, 'expired'],
    ['an assertion not valid yet', { notBefore: new Date(Date.now() + 120_000) }, 'not_yet_valid'],
    ['no NameID', { nameId: null }, 'subject_missing'],
    ['an IdP error status', { status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }, 'idp_error'],
  ])('%s', async (_name, options, reason) => {
    expect(await refusal(options)).toBe(reason);
  });

  it('a missing destination is fine; a response-signed answer to another request is refused too', async () => {
    expect((await verify({ destination: null })).assertion.subject).toBe('alice-0001');
    expect(await refusal({ sign: 'response', inResponseTo: '_another-request' })).toBe('unknown_request');
  });

  it('an assertion encrypted for another key → decrypt_failed', async () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const otherCert = (await deriveSpCertificate(keyIdOf(otherKey), otherKey)).pem;
    expect(await refusal({ encryptFor: otherCert })).toBe('decrypt_failed');
  });

  it('an encrypted assertion nobody signed → unsigned', async () => {
    expect(await refusal({ encryptFor: spCertPem, sign: 'none' })).toBe('unsigned');
  });

  it.each<[XswVariant, SamlResponseOptions['sign'], SsoFailureReason]>([
    ['response-in-signature', 'response', 'bad_signature'],
    ['response-beside', 'response', 'bad_signature'],
    ['assertion-beside', 'assertion', 'malformed'],
    ['assertion-wrapped', 'assertion', 'unsigned'],
    ['signature-moved', 'assertion', 'bad_signature'],
    ['original-in-signature', 'assertion', 'bad_signature'],
    ['original-in-extensions', 'assertion', 'unsigned'],
    ['original-in-object', 'assertion', 'bad_signature'],
    ['duplicate-id', 'assertion', 'bad_signature'],
  ])('signature wrapping %s (signed %s) → %s', async (xsw, sign, reason) => {
    // The variant is a real attack document: the genuine signature and signed element are still in it, beside the evil NameID.
    const assertionId = `_xsw${xsw.replace(/-/g, '')}`;
    const wrapped = await idp.buildResponse(request, alice, { sign, assertionId, xsw, evilNameId: 'evil-admin' });
    expect(wrapped).toContain('>evil-admin</saml:NameID>');
    expect(wrapped).toContain('>alice-0001</saml:NameID>');
    expect(wrapped).toContain(sign === 'assertion' ? `ID="${assertionId}"` : '<ds:SignatureValue>');
    expect(await refusal({ sign, assertionId, xsw, evilNameId: 'evil-admin' })).toBe(reason);
  });

  it('a signed response whose signature covers the assertion instead of itself → bad_signature', async () => {
    // The assertion's signature moved up to the response: it references another element than the one it is on.
    const moveUp = (xml: string) => {
      const signature = /<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(xml)![0];
      return xml.replace(signature, '').replace('</saml:Issuer><samlp:Status>', `</saml:Issuer>${signature}<samlp:Status>`);
    };
    expect(await refusal({ sign: 'assertion', tamper: moveUp })).toBe('bad_signature');
  });

  it('not XML, a DOCTYPE, another root element → malformed', async () => {
    const bad = async (xml: string) => {
      try {
        await verifySamlResponse(xml, context());
        return 'accepted';
      } catch (error) {
        return (error as SsoFailure).reason;
      }
    };
    expect(await bad('not xml at all')).toBe('malformed');
    expect(await bad('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>')).toBe('malformed');
    expect(await bad('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>')).toBe('malformed');
  });
});

describe('decodeSamlResponse', () => {
  it('accepts base64 with line breaks, refuses what is not base64, too large or not UTF-8', () => {
    const b64 = Buffer.from('<x/>').toString('base64');
    expect(decodeSamlResponse(`${b64.slice(0, 4)}\r\n${b64.slice(4)}`)).toBe('<x/>');
    const reason = (input: string) => {
      try {
        decodeSamlResponse(input);
        return 'accepted';
      } catch (error) {
        return (error as SsoFailure).reason;
      }
    };
    expect(reason('not base64!')).toBe('malformed');
    expect(reason('')).toBe('malformed');
    expect(reason(Buffer.alloc(SAML_RESPONSE_MAX_BYTES + 1, 0x41).toString('base64'))).toBe('malformed');
    expect(reason(Buffer.from([0xc3, 0x28, 0x3c]).toString('base64') + '')).toBe('malformed');
  });
});

describe('the SP certificate', () => {
  it('is the same every time it is derived from one key, and carries that key', async () => {
    const keyId = keyIdOf(spKey);
    const first = await deriveSpCertificate(keyId, spKey);
    const second = await deriveSpCertificate(keyId, spKey);
    expect(second.pem).toBe(first.pem);
    const certificate = new X509Certificate(first.pem);
    expect(certificate.publicKey.export({ format: 'pem', type: 'spki' })).toBe(
      createPublicKey(spKey).export({ format: 'pem', type: 'spki' }),
    );
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.serialNumber.toLowerCase()).toBe(`01${keyId}`);
    expect(new Date(certificate.validTo).getUTCFullYear()).toBe(2099);
  });

  it('differs between keys', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect((await deriveSpCertificate(keyIdOf(other), other)).pem).not.toBe(spCertPem);
  });
});
