// @peculiar/x509 uses tsyringe, which needs the metadata polyfill loaded first.
import 'reflect-metadata';
import { randomBytes, verify as verifySignature, webcrypto, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import * as x509 from '@peculiar/x509';
import { DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import xmlenc from 'xml-encryption';
import type { SamlSettings } from '@xspectre/contracts';

/**
 * A SAML 2.0 identity provider for tests: its own RSA keys and certificates, Responses built and
 * signed with xml-crypto (and encrypted with xml-encryption) the way Entra ID and Google
 * Workspace send them, every field overridable to produce the answers the service provider must
 * refuse, the known XML signature wrapping variants, and an HTTP server with a tiny login form
 * that auto-posts the Response to the ACS (for browser tests: api/test/sso-saml.spec.ts and the
 * console's Playwright test).
 */

const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** AuthnContextClassRef values: what a password alone and what MFA look like (Entra's spellings). */
export const AUTHN_CONTEXT_PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
export const AUTHN_CONTEXT_MFA = 'http://schemas.microsoft.com/claims/multipleauthn';
/** The attribute names this IdP sends (the provider's settings name them; samlSettings() does). */
export const SAML_ATTRIBUTES = { email: 'email', displayName: 'displayName', groups: 'groups' } as const;

export interface SamlIdpUser {
  nameId: string;
  email?: string;
  displayName?: string;
  groups?: string[];
  /** AuthnContextClassRef; null = none sent. Default: AUTHN_CONTEXT_MFA. */
  authnContext?: string | null;
}

/** What the service provider asked for (its AuthnRequest, from the redirect URL). */
export interface SamlAuthnRequest {
  id: string;
  issuer: string;
  acsUrl: string;
  destination: string | null;
  forceAuthn: boolean;
  relayState: string | null;
  /** The redirect binding's signature, when the SP signed the request. */
  sigAlg: string | null;
  signed: boolean;
  /** The raw signed part of the query (SAMLRequest, RelayState, SigAlg as sent) and the signature. */
  signedQuery: string | null;
  signature: string | null;
}

/**
 * The known XML signature wrapping variants (after Somorovsky et al., "On Breaking SAML", 2012,
 * XSW1-8), and comments inside the NameID. Each keeps the genuine signed element somewhere in
 * the document and puts an unsigned "evil" one (NameID `evilNameId`) where a careless SP reads.
 */
export type XswVariant =
  /** XSW1: an evil Response at the root; the signed Response inside the copied Signature. Needs sign 'response'. */
  | 'response-in-signature'
  /** XSW2: an evil Response at the root with the copied Signature; the signed Response beside it. Needs sign 'response'. */
  | 'response-beside'
  /** XSW3: an evil Assertion before the signed one, both in the Response. */
  | 'assertion-beside'
  /** XSW4: an evil Assertion wrapping the signed one. */
  | 'assertion-wrapped'
  /** XSW5: the signed Assertion's Signature moved into an evil Assertion; the original in samlp:Extensions. */
  | 'signature-moved'
  /** XSW6: an evil Assertion whose copied Signature holds the original Assertion. */
  | 'original-in-signature'
  /** XSW7: the signed Assertion hidden in samlp:Extensions; an unsigned evil Assertion beside. */
  | 'original-in-extensions'
  /** XSW8: an evil Assertion with the Signature; the original, its own signature removed, in ds:Object. */
  | 'original-in-object'
  /** An evil Assertion with the SAME ID as the signed one and its Signature; the original in Extensions. */
  | 'duplicate-id'
  /** `<!---->` inside the NameID after signing (the attack on parsers that read the first text node). */
  | 'comment-in-nameid';

export interface SamlResponseOptions {
  /** Which elements get an enveloped signature. Default 'assertion' (Entra's default). */
  sign?: 'response' | 'assertion' | 'both' | 'none';
  /** 'rollover': the second certificate of a rollover; 'unknown': a key the SP never heard of. */
  signingKey?: 'primary' | 'rollover' | 'unknown';
  /** SHA-1 signatures (refused by the SP). */
  signatureAlgorithm?: 'sha256' | 'sha1';
  /** Encrypt the assertion for this SP certificate (PEM). */
  encryptFor?: string;
  encryptionAlgorithm?: 'aes256-gcm' | 'aes256-cbc';
  issuer?: string;
  /** Response Issuer; default the same as issuer. */
  responseIssuer?: string;
  audience?: string;
  /** Response Destination; null = left out. Default the request's ACS URL. */
  destination?: string | null;
  recipient?: string;
  /** Both the Response's and the SubjectConfirmationData's; null = left out. */
  inResponseTo?: string | null;
  notBefore?: Date;
  notOnOrAfter?: Date;
  /** Overrides the user's AuthnContextClassRef (null = none sent). */
  authnContextClassRef?: string | null;
  /** Replaces the user's attributes entirely. */
  attributes?: Record<string, string[]>;
  /** Overrides the user's NameID; null = no NameID at all. */
  nameId?: string | null;
  /** A StatusCode other than Success (the assertion is left out). */
  status?: string;
  assertionId?: string;
  authnInstant?: Date;
  /** Applied to the XML after signing and encryption: a tampered attribute, say. */
  tamper?: (xml: string) => string;
  xsw?: XswVariant;
  /** The NameID the XSW variants' evil assertion claims. */
  evilNameId?: string;
}

interface IdpKey {
  privateKeyPem: string;
  certificatePem: string;
}

export class SamlIdp {
  /** Users by the name typed into the login form. */
  readonly users = new Map<string, SamlIdpUser>();
  /** Every AuthnRequest received by the HTTP server, oldest first. */
  readonly requests: SamlAuthnRequest[] = [];
  /** Options for the Responses the HTTP server sends (tests change them between logins). */
  responseOptions: SamlResponseOptions = {};
  private server: Server | null = null;
  private baseUrl = '';
  private readonly pending = new Map<string, SamlAuthnRequest>();

  private constructor(
    readonly entityId: string,
    private readonly primary: IdpKey,
    private readonly rollover: IdpKey,
    private readonly unknown: IdpKey,
  ) {}

  static async create(entityId = `https://idp.test/${randomBytes(4).toString('hex')}`): Promise<SamlIdp> {
    const [primary, rollover, unknown] = await Promise.all([makeKey('primary'), makeKey('rollover'), makeKey('unknown')]);
    return new SamlIdp(entityId, primary, rollover, unknown);
  }

  /** The signing certificate (PEM); the rollover one is the next, the unknown one is never configured. */
  get certificatePem(): string {
    return this.primary.certificatePem;
  }
  get rolloverCertificatePem(): string {
    return this.rollover.certificatePem;
  }
  get unknownCertificatePem(): string {
    return this.unknown.certificatePem;
  }

  get ssoUrl(): string {
    return `${this.requireListening()}/sso`;
  }
  get metadataUrl(): string {
    return `${this.requireListening()}/metadata`;
  }

  /** Settings for an identity provider of this IdP (contracts/src/sso.ts SamlSettings), with overrides. */
  samlSettings(overrides: Partial<SamlSettings> = {}): SamlSettings {
    return {
      idpEntityId: this.entityId,
      ssoUrl: this.server ? this.ssoUrl : `${this.entityId}/sso`,
      idpCertificates: [this.primary.certificatePem],
      metadataUrl: null,
      groupsAttribute: SAML_ATTRIBUTES.groups,
      emailAttribute: SAML_ATTRIBUTES.email,
      displayNameAttribute: SAML_ATTRIBUTES.displayName,
      mfaAuthnContexts: [AUTHN_CONTEXT_MFA],
      signAuthnRequests: false,
      encryptAssertions: false,
      ...overrides,
    };
  }

  /** Reads the AuthnRequest from the SP's redirect URL (HTTP-Redirect binding: deflate + base64). */
  parseAuthnRequest(redirectUrl: string): SamlAuthnRequest {
    const url = new URL(redirectUrl);
    const encoded = url.searchParams.get('SAMLRequest');
    if (!encoded) throw new Error('the URL carries no SAMLRequest');
    const xml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
    const root = new DOMParser().parseFromString(xml, 'text/xml').documentElement;
    if (!root || root.namespaceURI !== SAMLP_NS || root.localName !== 'AuthnRequest')
      throw new Error('the SAMLRequest is not an AuthnRequest');
    const issuer = root.getElementsByTagNameNS(SAML_NS, 'Issuer')[0]?.textContent?.trim() ?? '';
    // The redirect binding signs the query parameters as sent, in this order (SAML bindings §3.4.4.1).
    const raw = url.search.slice(1).split('&');
    const pick = (name: string) => raw.find((p) => p.startsWith(`${name}=`)) ?? null;
    const sigAlg = url.searchParams.get('SigAlg');
    const signature = url.searchParams.get('Signature');
    const signedQuery = sigAlg ? [pick('SAMLRequest'), pick('RelayState'), pick('SigAlg')].filter(Boolean).join('&') : null;
    return {
      id: root.getAttribute('ID') ?? '',
      issuer,
      acsUrl: root.getAttribute('AssertionConsumerServiceURL') ?? '',
      destination: root.getAttribute('Destination'),
      forceAuthn: root.getAttribute('ForceAuthn') === 'true',
      relayState: url.searchParams.get('RelayState'),
      sigAlg,
      signed: signature !== null,
      signedQuery,
      signature,
    };
  }

  /** Whether a request's redirect-binding signature verifies with the SP certificate (RSA-SHA256). */
  requestSignatureValid(request: SamlAuthnRequest, spCertificatePem: string): boolean {
    if (!request.signedQuery || !request.signature || request.sigAlg !== RSA_SHA256) return false;
    const key = new X509Certificate(spCertificatePem).publicKey;
    return verifySignature('sha256', Buffer.from(request.signedQuery), key, Buffer.from(request.signature, 'base64'));
  }

  /** A SAML Response (XML) answering `request` for `user`, shaped by `options`. */
  async buildResponse(request: SamlAuthnRequest, user: SamlIdpUser, options: SamlResponseOptions = {}): Promise<string> {
    const now = Date.now();
    const issuer = options.issuer ?? this.entityId;
    const inResponseTo = options.inResponseTo === undefined ? request.id : options.inResponseTo;
    const destination = options.destination === undefined ? request.acsUrl : options.destination;
    const responseId = `_r${randomBytes(16).toString('hex')}`;
    const status = options.status ?? SUCCESS;
    const sign = options.sign ?? 'assertion';
    const key = options.signingKey === 'rollover' ? this.rollover : options.signingKey === 'unknown' ? this.unknown : this.primary;
    const algorithm = options.signatureAlgorithm ?? 'sha256';

    let assertion = '';
    if (status === SUCCESS) {
      assertion = this.assertionXml(request, user, options, now, issuer, inResponseTo);
      if (sign === 'assertion' || sign === 'both') assertion = signElement(assertion, 'Assertion', key, algorithm);
      if (options.encryptFor)
        assertion = await encryptAssertion(assertion, options.encryptFor, options.encryptionAlgorithm ?? 'aes256-gcm');
    }
    const responseAttributes = [
      `ID="${responseId}"`,
      'Version="2.0"',
      `IssueInstant="${iso(now)}"`,
      destination === null ? '' : `Destination="${esc(destination)}"`,
      inResponseTo === null ? '' : `InResponseTo="${esc(inResponseTo)}"`,
    ].filter(Boolean);
    let xml =
      `<samlp:Response xmlns:samlp="${SAMLP_NS}" xmlns:saml="${SAML_NS}" ${responseAttributes.join(' ')}>` +
      `<saml:Issuer>${esc(options.responseIssuer ?? issuer)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="${esc(status)}"/>${status === SUCCESS ? '' : '<samlp:StatusMessage>The user cancelled</samlp:StatusMessage>'}</samlp:Status>` +
      assertion +
      '</samlp:Response>';
    if (sign === 'response' || sign === 'both') xml = signElement(xml, 'Response', key, algorithm);
    if (options.xsw) xml = wrap(xml, options.xsw, options.evilNameId ?? 'evil-admin');
    if (options.tamper) xml = options.tamper(xml);
    return xml;
  }

  /** The IdP's metadata (what an administrator imports): entity id, SSO URL (HTTP-Redirect), signing certificate(s). */
  metadataXml(options: { includeRollover?: boolean } = {}): string {
    const certs = [this.primary, ...(options.includeRollover ? [this.rollover] : [])];
    const keys = certs
      .map(
        (k) =>
          `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="${DS_NS}"><ds:X509Data><ds:X509Certificate>${pemBody(k.certificatePem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
      )
      .join('');
    return (
      `<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="${MD_NS}" entityID="${esc(this.entityId)}">` +
      `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${SAMLP_NS}">${keys}` +
      '<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>' +
      `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${esc(this.ssoUrl)}"/>` +
      '</md:IDPSSODescriptor></md:EntityDescriptor>'
    );
  }

  /** Starts the HTTP server on 127.0.0.1 (a free port): GET /sso (login form), POST /sso/login, GET /metadata. */
  async listen(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`test IdP error: ${String((error as Error)?.message ?? error)}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private requireListening(): string {
    if (!this.server) throw new Error('the test IdP is not listening: call listen() first');
    return this.baseUrl;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    if (req.method === 'GET' && url.pathname === '/metadata') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
      res.end(this.metadataXml());
      return;
    }
    if (req.method === 'GET' && url.pathname === '/sso') {
      let request: SamlAuthnRequest;
      try {
        request = this.parseAuthnRequest(url.toString());
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(`bad AuthnRequest: ${String((error as Error).message)}`);
        return;
      }
      this.requests.push(request);
      const pendingId = randomBytes(16).toString('hex');
      this.pending.set(pendingId, request);
      page(res, 200, loginForm(pendingId, request, null));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/sso/login') {
      const form = new URLSearchParams(await readBody(req));
      const pendingId = form.get('pending') ?? '';
      const request = this.pending.get(pendingId);
      if (!request) {
        page(res, 400, '<p>This sign-in has expired.</p>');
        return;
      }
      const user = this.users.get(form.get('username') ?? '');
      if (!user) {
        page(res, 200, loginForm(pendingId, request, 'Unknown user'));
        return;
      }
      this.pending.delete(pendingId);
      const xml = await this.buildResponse(request, user, this.responseOptions);
      page(res, 200, autoPost(request.acsUrl, Buffer.from(xml).toString('base64'), request.relayState));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }

  private assertionXml(
    request: SamlAuthnRequest,
    user: SamlIdpUser,
    options: SamlResponseOptions,
    now: number,
    issuer: string,
    inResponseTo: string | null,
  ): string {
    const notBefore = options.notBefore ?? new Date(now - 5_000);
    const notOnOrAfter = options.notOnOrAfter ?? new Date(now + 300_000);
    const nameId = options.nameId === undefined ? user.nameId : options.nameId;
    const classRef = options.authnContextClassRef !== undefined ? options.authnContextClassRef : (user.authnContext ?? AUTHN_CONTEXT_MFA);
    const attributes = options.attributes ?? {
      ...(user.email ? { [SAML_ATTRIBUTES.email]: [user.email] } : {}),
      ...(user.displayName ? { [SAML_ATTRIBUTES.displayName]: [user.displayName] } : {}),
      [SAML_ATTRIBUTES.groups]: user.groups ?? [],
    };
    const attributeXml = Object.entries(attributes)
      .map(
        ([name, values]) =>
          `<saml:Attribute Name="${esc(name)}">${values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`,
      )
      .join('');
    const confirmation = [
      inResponseTo === null ? '' : `InResponseTo="${esc(inResponseTo)}"`,
      `NotOnOrAfter="${iso(notOnOrAfter.getTime())}"`,
      `Recipient="${esc(options.recipient ?? request.acsUrl)}"`,
    ]
      .filter(Boolean)
      .join(' ');
    return (
      `<saml:Assertion xmlns:saml="${SAML_NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
      `ID="${esc(options.assertionId ?? `_a${randomBytes(16).toString('hex')}`)}" Version="2.0" IssueInstant="${iso(now)}">` +
      `<saml:Issuer>${esc(issuer)}</saml:Issuer>` +
      '<saml:Subject>' +
      (nameId === null ? '' : `<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${esc(nameId)}</saml:NameID>`) +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData ${confirmation}/></saml:SubjectConfirmation>` +
      '</saml:Subject>' +
      `<saml:Conditions NotBefore="${iso(notBefore.getTime())}" NotOnOrAfter="${iso(notOnOrAfter.getTime())}">` +
      `<saml:AudienceRestriction><saml:Audience>${esc(options.audience ?? request.issuer)}</saml:Audience></saml:AudienceRestriction>` +
      '</saml:Conditions>' +
      `<saml:AuthnStatement AuthnInstant="${iso((options.authnInstant ?? new Date(now)).getTime())}" SessionIndex="_s${randomBytes(8).toString('hex')}">` +
      `<saml:AuthnContext>${classRef === null ? '' : `<saml:AuthnContextClassRef>${esc(classRef)}</saml:AuthnContextClassRef>`}</saml:AuthnContext>` +
      '</saml:AuthnStatement>' +
      `<saml:AttributeStatement>${attributeXml}</saml:AttributeStatement>` +
      '</saml:Assertion>'
    );
  }
}

/** Base64 of a Response, as the browser posts it (SAMLResponse form field). */
export function encodeSamlResponse(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

/** The form fields of the IdP's auto-post page (action, SAMLResponse, RelayState). */
export function readAutoPostForm(html: string): { action: string; SAMLResponse: string; RelayState: string | null } {
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? null;
  const action = /<form method="post" action="([^"]*)"/.exec(html)?.[1];
  const samlResponse = field('SAMLResponse');
  if (!action || !samlResponse) throw new Error('not the IdP auto-post page');
  return {
    action: unesc(action),
    SAMLResponse: unesc(samlResponse),
    RelayState: field('RelayState') === null ? null : unesc(field('RelayState')!),
  };
}

/** Replaces the first attribute value `from` with `to` (the classic tampering after signing). */
export function tamperAttributeValue(from: string, to: string): (xml: string) => string {
  return (xml) => {
    const target = `>${esc(from)}</saml:AttributeValue>`;
    if (!xml.includes(target)) throw new Error(`no attribute value ${from} to tamper with`);
    return xml.replace(target, `>${esc(to)}</saml:AttributeValue>`);
  };
}

async function makeKey(label: string): Promise<IdpKey> {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    name: `CN=Test SAML IdP ${label}`,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
    signingAlgorithm: algorithm,
    keys: keys as never,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
  return { privateKeyPem, certificatePem: certificate.toString('pem') };
}

/** An enveloped signature on the (only) Response or Assertion element, after its Issuer (SAML core §5.4.1). */
function signElement(xml: string, element: 'Response' | 'Assertion', key: IdpKey, algorithm: 'sha256' | 'sha1'): string {
  const ns = element === 'Response' ? SAMLP_NS : SAML_NS;
  const xpath = `//*[local-name(.)='${element}' and namespace-uri(.)='${ns}']`;
  const signed = new SignedXml({
    privateKey: key.privateKeyPem,
    publicCert: key.certificatePem,
    signatureAlgorithm: algorithm === 'sha1' ? RSA_SHA1 : RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  signed.addReference({ xpath, digestAlgorithm: algorithm === 'sha1' ? SHA1 : SHA256, transforms: [ENVELOPED, EXC_C14N] });
  signed.computeSignature(xml, { prefix: 'ds', location: { reference: `${xpath}/*[local-name(.)='Issuer']`, action: 'after' } });
  return signed.getSignedXml();
}

const encrypt = promisify(xmlenc.encrypt) as unknown as (content: string, options: Record<string, unknown>) => Promise<string>;

async function encryptAssertion(assertionXml: string, spCertificatePem: string, algorithm: 'aes256-gcm' | 'aes256-cbc'): Promise<string> {
  const encryptedData = await encrypt(assertionXml, {
    rsa_pub: new X509Certificate(spCertificatePem).publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    pem: spCertificatePem,
    encryptionAlgorithm:
      algorithm === 'aes256-gcm' ? 'http://www.w3.org/2009/xmlenc11#aes256-gcm' : 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
    keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
    keyEncryptionDigest: 'sha1',
    disallowEncryptionWithInsecureAlgorithm: false,
    warnInsecureAlgorithm: false,
  });
  return `<saml:EncryptedAssertion xmlns:saml="${SAML_NS}">${encryptedData}</saml:EncryptedAssertion>`;
}

/** Rebuilds a signed Response into one of the XSW variants (see XswVariant). */
function wrap(xml: string, variant: XswVariant, evilNameId: string): string {
  const doc = new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
  const response = doc.documentElement!;
  const serialize = () => new XMLSerializer().serializeToString(doc);
  const child = (parent: Element, ns: string, name: string) =>
    Array.from(parent.childNodes).find(
      (n) => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name,
    ) as Element | undefined;
  const must = <T>(value: T | undefined, what: string): T => {
    if (!value) throw new Error(`XSW ${variant}: the response has no ${what} (sign it as the variant needs)`);
    return value;
  };
  /** A copy of `element` without its signature, claiming the evil NameID, under a new ID (or the same). */
  const evilCopy = (element: Element, sameId = false): Element => {
    const copy = element.cloneNode(true) as Element;
    const signature = child(copy, DS_NS, 'Signature');
    if (signature) copy.removeChild(signature);
    if (!sameId) copy.setAttribute('ID', `_evil${randomBytes(8).toString('hex')}`);
    for (const nameId of Array.from(copy.getElementsByTagNameNS(SAML_NS, 'NameID'))) {
      while (nameId.firstChild) nameId.removeChild(nameId.firstChild);
      nameId.appendChild(doc.createTextNode(evilNameId));
    }
    return copy;
  };
  const extensions = () => {
    const element = doc.createElementNS(SAMLP_NS, 'samlp:Extensions');
    const issuer = must(child(response, SAML_NS, 'Issuer'), 'Issuer');
    response.insertBefore(element, issuer.nextSibling);
    return element;
  };

  switch (variant) {
    case 'comment-in-nameid': {
      // Re-serialising would be fine too; a string edit keeps every signed byte as it was.
      return xml.replace(/(<saml:NameID[^>]*>)([^<]{2})([^<]*)<\/saml:NameID>/, '$1$2<!---->$3</saml:NameID>');
    }
    case 'response-in-signature':
    case 'response-beside': {
      const signature = must(child(response, DS_NS, 'Signature'), 'Response signature');
      const evil = evilCopy(response);
      const original = response.cloneNode(true) as Element;
      const copiedSignature = signature.cloneNode(true) as Element;
      const evilIssuer = must(child(evil, SAML_NS, 'Issuer'), 'Issuer');
      evil.insertBefore(copiedSignature, evilIssuer.nextSibling);
      if (variant === 'response-in-signature') copiedSignature.appendChild(original);
      else evil.insertBefore(original, copiedSignature.nextSibling);
      doc.replaceChild(evil, response);
      return serialize();
    }
  }

  const assertion = must(child(response, SAML_NS, 'Assertion'), 'Assertion');
  const signature = must(child(assertion, DS_NS, 'Signature'), 'Assertion signature');
  switch (variant) {
    case 'assertion-beside':
      response.insertBefore(evilCopy(assertion), assertion);
      break;
    case 'assertion-wrapped': {
      const evil = evilCopy(assertion);
      response.replaceChild(evil, assertion);
      evil.appendChild(assertion);
      break;
    }
    case 'signature-moved': {
      const evil = evilCopy(assertion);
      evil.insertBefore(signature.cloneNode(true), evil.firstChild!.nextSibling);
      response.replaceChild(evil, assertion);
      extensions().appendChild(assertion);
      break;
    }
    case 'original-in-signature': {
      const evil = evilCopy(assertion);
      const copied = signature.cloneNode(true) as Element;
      evil.insertBefore(copied, evil.firstChild!.nextSibling);
      copied.appendChild(assertion.cloneNode(true));
      response.replaceChild(evil, assertion);
      break;
    }
    case 'original-in-extensions': {
      const evil = evilCopy(assertion);
      response.replaceChild(evil, assertion);
      extensions().appendChild(assertion);
      break;
    }
    case 'original-in-object': {
      const evil = evilCopy(assertion);
      const copied = signature.cloneNode(true) as Element;
      const object = doc.createElementNS(DS_NS, 'ds:Object');
      const original = assertion.cloneNode(true) as Element;
      original.removeChild(must(child(original, DS_NS, 'Signature'), 'Assertion signature'));
      object.appendChild(original);
      copied.appendChild(object);
      evil.insertBefore(copied, evil.firstChild!.nextSibling);
      response.replaceChild(evil, assertion);
      break;
    }
    case 'duplicate-id': {
      const evil = evilCopy(assertion, true);
      evil.insertBefore(signature.cloneNode(true), evil.firstChild!.nextSibling);
      response.replaceChild(evil, assertion);
      extensions().appendChild(assertion);
      break;
    }
  }
  return serialize();
}

function loginForm(pendingId: string, request: SamlAuthnRequest, error: string | null): string {
  return (
    '<h1>Test identity provider</h1>' +
    (request.forceAuthn ? '<p id="force-authn">Please sign in again.</p>' : '') +
    (error ? `<p role="alert">${esc(error)}</p>` : '') +
    '<form method="post" action="/sso/login">' +
    `<input type="hidden" name="pending" value="${esc(pendingId)}">` +
    '<label>Username <input name="username" id="username" autocomplete="off" autofocus></label> ' +
    '<button type="submit" id="submit">Sign in</button></form>'
  );
}

function autoPost(acsUrl: string, samlResponse: string, relayState: string | null): string {
  return (
    `<form method="post" action="${esc(acsUrl)}">` +
    `<input type="hidden" name="SAMLResponse" value="${esc(samlResponse)}">` +
    (relayState === null ? '' : `<input type="hidden" name="RelayState" value="${esc(relayState)}">`) +
    '<noscript><button type="submit">Continue</button></noscript></form>' +
    '<script>document.forms[0].submit()</script>'
  );
}

function page(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html><head><title>Test IdP</title></head><body>${body}</body></html>`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function esc(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function unesc(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&gt;/g, '>')
    .replace(/&lt;/g, '<')
    .replace(/&amp;/g, '&');
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}
