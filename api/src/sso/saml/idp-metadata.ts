import { DOMParser, type Element } from '@xmldom/xmldom';
import { certificatePem, parseIdpCertificate } from './idp-certificate.js';

/** Metadata documents larger than this are refused (Entra's, with its WS-Fed roles, is ~20 KiB). */
export const IDP_METADATA_MAX_BYTES = 512 * 1024;

const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const HTTP_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
/** contracts/src/sso.ts SamlSettingsSchema allows this many IdP certificates. */
const MAX_CERTIFICATES = 4;

export interface IdpMetadata {
  idpEntityId: string;
  /** The SingleSignOnService of the HTTP-Redirect binding (the AuthnRequests we send). */
  ssoUrl: string;
  /** Signing certificates (KeyDescriptor use="signing" or without a use), PEM. */
  idpCertificates: string[];
}

/** Metadata that cannot be used, with the reason an administrator can act on. */
export class IdpMetadataError extends Error {
  override name = 'IdpMetadataError';
}

/**
 * Reads a SAML 2.0 identity provider's metadata. The document comes from an administrator or a
 * URL they named, so it is treated as hostile: no DTDs (entity expansion), bounded size, and only
 * the IDPSSODescriptor's own KeyDescriptors count (Entra's metadata carries WS-Federation roles
 * with keys of their own beside it).
 */
export function parseIdpMetadata(xml: string): IdpMetadata {
  if (Buffer.byteLength(xml, 'utf8') > IDP_METADATA_MAX_BYTES) {
    throw new IdpMetadataError(`the metadata is larger than ${IDP_METADATA_MAX_BYTES / 1024} KiB`);
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(xml))
    throw new IdpMetadataError('the metadata contains a DOCTYPE or entity declaration, which is refused');
  const root = parseXml(xml);
  if (root.namespaceURI !== MD_NS || (root.localName !== 'EntityDescriptor' && root.localName !== 'EntitiesDescriptor')) {
    throw new IdpMetadataError(`this is not SAML 2.0 metadata (the document is <${root.tagName}>, not an EntityDescriptor)`);
  }
  const entities = root.localName === 'EntityDescriptor' ? [root] : descendants(root, MD_NS, 'EntityDescriptor');
  const idps = entities.flatMap((entity) => {
    const descriptor = children(entity, MD_NS, 'IDPSSODescriptor').find((d) =>
      (d.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL),
    );
    return descriptor ? [{ entity, descriptor }] : [];
  });
  if (idps.length === 0) throw new IdpMetadataError('the metadata describes no SAML 2.0 identity provider (no IDPSSODescriptor)');
  if (idps.length > 1) throw new IdpMetadataError(`the metadata describes ${idps.length} identity providers: import the metadata of one`);
  const { entity, descriptor } = idps[0]!;

  const idpEntityId = (entity.getAttribute('entityID') ?? '').trim();
  if (!idpEntityId) throw new IdpMetadataError('the EntityDescriptor has no entityID');
  if (idpEntityId.length > 1024) throw new IdpMetadataError('the entityID is longer than 1024 characters');

  const redirect = children(descriptor, MD_NS, 'SingleSignOnService').find((s) => s.getAttribute('Binding') === HTTP_REDIRECT);
  if (!redirect) throw new IdpMetadataError('the identity provider offers no SingleSignOnService with the HTTP-Redirect binding');
  const ssoUrl = (redirect.getAttribute('Location') ?? '').trim();
  if (!isHttpUrl(ssoUrl)) throw new IdpMetadataError('the HTTP-Redirect SingleSignOnService Location is not an http(s) URL');

  const idpCertificates: string[] = [];
  for (const key of children(descriptor, MD_NS, 'KeyDescriptor')) {
    const use = key.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const cert of descendants(key, DS_NS, 'X509Certificate')) {
      const parsed = parseIdpCertificate(cert.textContent ?? '');
      if (!parsed) throw new IdpMetadataError('a signing X509Certificate does not parse as an X.509 certificate');
      const pem = certificatePem(parsed);
      if (!idpCertificates.includes(pem)) idpCertificates.push(pem);
    }
  }
  if (idpCertificates.length === 0) throw new IdpMetadataError('the identity provider lists no signing certificate');
  if (idpCertificates.length > MAX_CERTIFICATES) {
    throw new IdpMetadataError(
      `the identity provider lists ${idpCertificates.length} signing certificates; at most ${MAX_CERTIFICATES} are kept`,
    );
  }
  return { idpEntityId, ssoUrl, idpCertificates };
}

function parseXml(xml: string): Element {
  let document;
  try {
    document = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') throw new Error(message);
      },
    }).parseFromString(xml, 'text/xml');
  } catch (error) {
    throw new IdpMetadataError(`the metadata is not well-formed XML (${firstLine(error)})`);
  }
  const root = document.documentElement;
  if (!root) throw new IdpMetadataError('the metadata is not XML');
  return root;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .split('\n')[0]!
    .slice(0, 160);
}

function children(parent: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    const element = node as Element;
    if (node.nodeType === 1 && element.namespaceURI === ns && element.localName === localName) out.push(element);
  }
  return out;
}

function descendants(parent: Element, ns: string, localName: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS(ns, localName));
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && value.length <= 2048;
  } catch {
    return false;
  }
}
