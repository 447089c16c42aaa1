import type { KeyObject } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import type { SamlSettings } from '@xspectre/contracts';
import { SsoFailure, type ServiceProviderUrls, type SsoAssertion } from '../sso-assertion.js';
import { decryptAssertion } from './saml-decrypt.js';
import { verifiedSignedCopy } from './saml-signature.js';
import { attributeOf, children, clip, instantOf, onlyChild, parseSamlXml, SAML_NS, SAMLP_NS, textOf } from './saml-xml.js';

const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
/** contracts/src/sso.ts LinkIdentityRequestSchema bounds a subject to this. */
const SUBJECT_MAX = 512;

export interface SamlResponseContext {
  settings: SamlSettings;
  sp: ServiceProviderUrls;
  expectedRequestId: string;
  /** Idp signing certificates as PEM. */
  certificates: readonly string[];
  /** The SP private keys an encrypted assertion may be encrypted for, current first. */
  decryptionKeys: readonly KeyObject[];
  now: Date;
  clockSkewSeconds: number;
}

export interface VerifiedSamlResponse {
  assertion: SsoAssertion;
  /** The assertion's ID and until when it is valid: remembered to refuse a replay. */
  assertionId: string;
  notOnOrAfter: Date;
}

/**
 * Checks a SAML Response (the decoded XML) the way SAML 2.0's Web Browser SSO profile asks, and
 * returns what the signed assertion says. Every value comes from the element a signature
 * covers, parsed again from the signed bytes (verifiedSignedCopy); the unsigned envelope is
 * read only to refuse (status, Destination, InResponseTo, Issuer), never to accept.
 * Throws SsoFailure with the reason that is audited.
 */
export async function verifySamlResponse(xml: string, context: SamlResponseContext): Promise<VerifiedSamlResponse> {
  const root = parseSamlXml(xml);
  if (root.namespaceURI !== SAMLP_NS || root.localName !== 'Response') {
    throw new SsoFailure('malformed', `the message is <${clip(root.tagName, 60)}>, not a SAML 2.0 Response`);
  }
  checkStatus(root);

  const signedResponse = verifiedSignedCopy(xml, root, context.certificates);
  const envelope = signedResponse?.element ?? root;
  const envelopeXml = signedResponse?.xml ?? xml;

  const slots = [...children(envelope, SAML_NS, 'Assertion'), ...children(envelope, SAML_NS, 'EncryptedAssertion')];
  if (slots.length === 0) throw new SsoFailure('malformed', 'the response carries no assertion');
  if (slots.length > 1) throw new SsoFailure('malformed', `the response carries ${slots.length} assertions; exactly one is accepted`);
  const slot = slots[0]!;

  let assertion: Element;
  if (slot.localName === 'EncryptedAssertion') {
    const plain = await decryptAssertion(slot, context.decryptionKeys);
    // A plaintext that does not parse reads decrypt_failed as a failed decryption does: an altered ciphertext's padding is no oracle.
    const decrypted = parseSamlXml(plain, 'decrypt_failed');
    if (decrypted.namespaceURI !== SAML_NS || decrypted.localName !== 'Assertion') {
      throw new SsoFailure('decrypt_failed', 'the encrypted content is not an Assertion');
    }
    assertion = signedAssertion(plain, decrypted, context, signedResponse !== null);
  } else {
    assertion = signedAssertion(envelopeXml, slot, context, signedResponse !== null);
  }
  return readAssertion(envelope, signedResponse !== null, assertion, context);
}

/** The IdP said no: its status, for the audit (the operator sees idp_error). */
function checkStatus(response: Element): void {
  const status = onlyChild(response, SAMLP_NS, 'Status');
  const code = status ? onlyChild(status, SAMLP_NS, 'StatusCode') : null;
  const value = attributeOf(code, 'Value');
  if (!value) throw new SsoFailure('malformed', 'the response has no StatusCode');
  if (value === STATUS_SUCCESS) return;
  const second = code ? attributeOf(onlyChild(code, SAMLP_NS, 'StatusCode'), 'Value') : null;
  const message = status ? textOf(onlyChild(status, SAMLP_NS, 'StatusMessage')) : null;
  const detail = [value, second, message]
    .filter((v): v is string => v !== null)
    .map((v) => clip(v))
    .join(' / ');
  throw new SsoFailure('idp_error', `the identity provider answered ${detail}`);
}

/**
 * The assertion to read: its own signature verified when it has one (and it must when the
 * response is unsigned); otherwise the copy inside the signed response.
 */
function signedAssertion(documentXml: string, assertion: Element, context: SamlResponseContext, responseSigned: boolean): Element {
  const copy = verifiedSignedCopy(documentXml, assertion, context.certificates);
  if (copy) return copy.element;
  if (responseSigned) return assertion;
  throw new SsoFailure('unsigned', 'neither the response nor the assertion is signed');
}

function readAssertion(envelope: Element, envelopeSigned: boolean, assertion: Element, context: SamlResponseContext): VerifiedSamlResponse {
  const { settings, sp } = context;
  const assertionId = attributeOf(assertion, 'ID');
  if (!assertionId || attributeOf(assertion, 'Version') !== '2.0')
    throw new SsoFailure('malformed', 'the assertion has no ID or is not SAML 2.0');

  const issuer = textOf(onlyChild(assertion, SAML_NS, 'Issuer'));
  if (issuer !== settings.idpEntityId) throw new SsoFailure('wrong_issuer', `the assertion was issued by ${clip(issuer ?? '(nobody)')}`);
  const envelopeIssuer = textOf(onlyChild(envelope, SAML_NS, 'Issuer'));
  if (envelopeIssuer !== null && envelopeIssuer !== settings.idpEntityId) {
    throw new SsoFailure('wrong_issuer', `the response was issued by ${clip(envelopeIssuer)}`);
  }

  const destination = attributeOf(envelope, 'Destination');
  if (destination !== null && destination !== sp.acsUrl)
    throw new SsoFailure('wrong_destination', `the response was sent to ${clip(destination)}`);

  const conditions = onlyChild(assertion, SAML_NS, 'Conditions');
  checkAudience(conditions, sp.entityId);

  const subject = onlyChild(assertion, SAML_NS, 'Subject');
  const confirmation = bearerConfirmation(subject, sp.acsUrl);

  // The request this answers: every InResponseTo given must name it, and a signed one must be given.
  const signedInResponseTo = attributeOf(confirmation, 'InResponseTo');
  const envelopeInResponseTo = attributeOf(envelope, 'InResponseTo');
  for (const value of [signedInResponseTo, envelopeInResponseTo]) {
    if (value !== null && value !== context.expectedRequestId) {
      throw new SsoFailure('unknown_request', `the response answers the request ${clip(value)}, not the one this sign-in sent`);
    }
  }
  if (signedInResponseTo === null && !(envelopeSigned && envelopeInResponseTo !== null)) {
    throw new SsoFailure('unknown_request', 'the response names no request it answers (IdP-initiated sign-in is not accepted)');
  }

  const notOnOrAfter = checkValidity(conditions, confirmation, context);

  const nameId = textOf(subject ? onlyChild(subject, SAML_NS, 'NameID') : null);
  if (!nameId) throw new SsoFailure('subject_missing', 'the assertion has no NameID');
  if (nameId.length > SUBJECT_MAX) throw new SsoFailure('malformed', `the NameID is longer than ${SUBJECT_MAX} characters`);

  const attributes = attributeValues(assertion);
  const authn = children(assertion, SAML_NS, 'AuthnStatement')[0] ?? null;
  const classRef = authn ? textOf(authn.getElementsByTagNameNS(SAML_NS, 'AuthnContextClassRef')[0] ?? null) : null;
  const authnInstant = authn ? instantOf(authn, 'AuthnInstant') : null;

  return {
    assertionId,
    notOnOrAfter,
    assertion: {
      subject: nameId,
      email: settings.emailAttribute === null ? nameId : (attributes.get(settings.emailAttribute)?.[0] ?? null),
      displayName: settings.displayNameAttribute === null ? null : (attributes.get(settings.displayNameAttribute)?.[0] ?? null),
      groups: attributes.get(settings.groupsAttribute) ?? [],
      authenticatedAt: authnInstant,
      mfa: classRef === null ? null : settings.mfaAuthnContexts.includes(classRef),
    },
  };
}

/** Every AudienceRestriction must name this SP (SAML core §2.5.1.4); none at all is refused too. */
function checkAudience(conditions: Element | null, entityId: string): void {
  const restrictions = conditions ? children(conditions, SAML_NS, 'AudienceRestriction') : [];
  if (restrictions.length === 0) throw new SsoFailure('wrong_audience', 'the assertion names no audience');
  for (const restriction of restrictions) {
    const audiences = children(restriction, SAML_NS, 'Audience').map((a) => textOf(a));
    if (!audiences.includes(entityId)) {
      throw new SsoFailure('wrong_audience', `the assertion is for ${clip(audiences.filter(Boolean).join(', ') || '(no audience)')}`);
    }
  }
}

/** The bearer SubjectConfirmationData addressed to our ACS. */
function bearerConfirmation(subject: Element | null, acsUrl: string): Element {
  const bearer = (subject ? children(subject, SAML_NS, 'SubjectConfirmation') : [])
    .filter((c) => c.getAttribute('Method') === BEARER)
    .map((c) => onlyChild(c, SAML_NS, 'SubjectConfirmationData'))
    .filter((d): d is Element => d !== null);
  if (bearer.length === 0) throw new SsoFailure('malformed', 'the assertion has no bearer subject confirmation');
  const ours = bearer.find((d) => d.getAttribute('Recipient') === acsUrl);
  if (!ours) {
    const recipients = bearer.map((d) => d.getAttribute('Recipient') || '(none)').join(', ');
    throw new SsoFailure('wrong_recipient', `the assertion is meant for ${clip(recipients)}`);
  }
  return ours;
}

/** NotBefore / NotOnOrAfter of the conditions and the confirmation, with the configured skew; returns the earliest end. */
function checkValidity(conditions: Element | null, confirmation: Element, context: SamlResponseContext): Date {
  const now = context.now.getTime();
  const skew = context.clockSkewSeconds * 1000;
  const starts = [instantOf(conditions, 'NotBefore'), instantOf(confirmation, 'NotBefore')].filter((d): d is Date => d !== null);
  const ends = [instantOf(conditions, 'NotOnOrAfter'), instantOf(confirmation, 'NotOnOrAfter')].filter((d): d is Date => d !== null);
  if (ends.length === 0) throw new SsoFailure('malformed', 'the assertion has no NotOnOrAfter: it would be valid forever');
  for (const start of starts) {
    if (now + skew < start.getTime()) throw new SsoFailure('not_yet_valid', `the assertion is valid from ${start.toISOString()}`);
  }
  const end = new Date(Math.min(...ends.map((d) => d.getTime())));
  if (now - skew >= end.getTime()) throw new SsoFailure('expired', `the assertion expired at ${end.toISOString()}`);
  return end;
}

/** Attribute name → values, from the assertion's AttributeStatements. */
function attributeValues(assertion: Element): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const statement of children(assertion, SAML_NS, 'AttributeStatement')) {
    for (const attribute of children(statement, SAML_NS, 'Attribute')) {
      const name = attribute.getAttribute('Name');
      if (!name) continue;
      const list = values.get(name) ?? [];
      for (const value of children(attribute, SAML_NS, 'AttributeValue')) {
        const text = textOf(value);
        if (text !== null) list.push(text);
      }
      values.set(name, list);
    }
  }
  return values;
}
