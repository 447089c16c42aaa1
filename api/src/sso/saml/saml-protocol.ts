import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { generateServiceProviderMetadata, SAML } from '@node-saml/node-saml';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { KeyStore } from '../../keys/key-store.js';
import { SsoFailure, type SamlProviderConfig, type SsoAssertion } from '../sso-assertion.js';
import { SsoStateStore } from '../sso-state.store.js';
import { certificatePem, parseIdpCertificate } from './idp-certificate.js';
import { verifySamlResponse } from './saml-response.js';
import { firstLine } from './saml-xml.js';
import { spCertificate } from './sp-certificate.js';

/** A SAML Response larger than this is refused before it is parsed (Entra's with 150 groups is ~30 KiB). */
export const SAML_RESPONSE_MAX_BYTES = 256 * 1024;
/** No NameIDPolicy format asked: the IdP sends the identifier it is configured with (persistent for Entra, e-mail for Google). */
const NAME_ID_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';

/**
 * SAML 2.0 service provider (Web Browser SSO profile, SP-initiated): AuthnRequests over the
 * HTTP-Redirect binding (node-saml), Responses over HTTP-POST checked by verifySamlResponse
 * (api/src/sso/saml/saml-response.ts: signature with xml-crypto, values only from the signed
 * bytes), assertion ids remembered in Redis until they expire, SP metadata with the certificate
 * derived from the saml-sp key (api/src/sso/saml/sp-certificate.ts).
 */
@Injectable()
export class SamlProtocol {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: KeyStore,
    private readonly state: SsoStateStore,
  ) {}

  /** The IdP URL to send the browser to, and the request ID the response must answer. */
  async loginRedirect(
    provider: SamlProviderConfig,
    options: { relayState: string; forceAuthn: boolean },
  ): Promise<{ url: string; requestId: string }> {
    const { settings, sp } = provider;
    // An NCName (xs:ID): a letter or underscore first.
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const signing = settings.signAuthnRequests ? await this.keys.currentSigningKey('saml-sp') : null;
    const saml = new SAML({
      entryPoint: settings.ssoUrl,
      issuer: sp.entityId,
      callbackUrl: sp.acsUrl,
      // Required by the constructor, unused here: responses are checked by verifySamlResponse.
      idpCert: settings.idpCertificates,
      generateUniqueId: () => requestId,
      forceAuthn: options.forceAuthn,
      identifierFormat: NAME_ID_FORMAT,
      // A requested context (node-saml asks PasswordProtectedTransport, exact) makes Entra refuse MFA and passwordless sign-ins.
      disableRequestedAuthnContext: true,
      authnRequestBinding: 'HTTP-Redirect',
      ...(signing
        ? { privateKey: signing.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), signatureAlgorithm: 'sha256' as const }
        : {}),
    });
    const url = await saml.getAuthorizeUrlAsync(options.relayState, undefined, {});
    return { url, requestId };
  }

  /** Checks a posted SAMLResponse (base64) for the sign-in that sent `expectedRequestId`; throws SsoFailure when refused. */
  async consume(provider: SamlProviderConfig, samlResponseBase64: string, expectedRequestId: string): Promise<SsoAssertion> {
    const xml = decodeSamlResponse(samlResponseBase64);
    const certificates = provider.settings.idpCertificates.flatMap((text) => {
      const parsed = parseIdpCertificate(text);
      return parsed ? [certificatePem(parsed)] : [];
    });
    if (certificates.length === 0) throw new SsoFailure('bad_signature', 'the provider has no usable IdP certificate');
    // Every key not retired: during a rotation the IdP may still encrypt for the previous certificate.
    const decryptionKeys = (await this.keys.validPrivateKeys('saml-sp')).map((key) => key.privateKey);
    let verified;
    try {
      verified = await verifySamlResponse(xml, {
        settings: provider.settings,
        sp: provider.sp,
        expectedRequestId,
        certificates,
        decryptionKeys,
        now: new Date(),
        clockSkewSeconds: this.config.API_SSO_CLOCK_SKEW_SECONDS,
      });
    } catch (error) {
      if (error instanceof SsoFailure) throw error;
      // Anything a hostile document makes a library throw (a stack overflow on deep nesting included).
      throw new SsoFailure('malformed', `the response could not be processed (${firstLine(error)})`);
    }
    // Last, after every other check: a forged or broken copy must not use up a genuine assertion's id.
    if (!(await this.state.rememberAssertion(provider.id, verified.assertionId, verified.notOnOrAfter))) {
      throw new SsoFailure('replay', `the assertion ${verified.assertionId.slice(0, 80)} was used before`);
    }
    return verified.assertion;
  }

  /** SP metadata for the IdP administrator: entity id, ACS (HTTP-POST), the certificate for signed requests and encryption. */
  async serviceProviderMetadata(provider: SamlProviderConfig): Promise<string> {
    const { settings, sp } = provider;
    const key = await this.keys.currentSigningKey('saml-sp');
    const certificate = await spCertificate(key.keyId, key.privateKey);
    const privateKeyPem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    return generateServiceProviderMetadata({
      issuer: sp.entityId,
      callbackUrl: sp.acsUrl,
      identifierFormat: NAME_ID_FORMAT,
      wantAssertionsSigned: true,
      // The same document on every instance and every request (node-saml would draw a random ID).
      generateUniqueId: () => `_sp-${key.keyId}`,
      ...(settings.signAuthnRequests
        ? { privateKey: privateKeyPem, publicCerts: certificate.pem, signatureAlgorithm: 'sha256' as const }
        : {}),
      ...(settings.encryptAssertions ? { decryptionPvk: privateKeyPem, decryptionCert: certificate.pem } : {}),
    });
  }
}

/** The posted SAMLResponse: base64 (line breaks tolerated) of UTF-8 XML, at most SAML_RESPONSE_MAX_BYTES. */
export function decodeSamlResponse(base64: string): string {
  // 4 characters per 3 bytes, plus a line break every 64 or 76 characters.
  if (base64.length > Math.ceil(SAML_RESPONSE_MAX_BYTES / 3) * 4 * 1.05 + 16) {
    throw new SsoFailure('malformed', `the SAMLResponse is larger than ${SAML_RESPONSE_MAX_BYTES / 1024} KiB`);
  }
  const compact = base64.replace(/[\r\n\t ]/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new SsoFailure('malformed', 'the SAMLResponse is not base64');
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length > SAML_RESPONSE_MAX_BYTES)
    throw new SsoFailure('malformed', `the SAMLResponse is larger than ${SAML_RESPONSE_MAX_BYTES / 1024} KiB`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SsoFailure('malformed', 'the SAMLResponse is not UTF-8 text');
  }
}
