import { DOMParser, type Element } from '@xmldom/xmldom';
import { SsoFailure } from '../sso-assertion.js';

export const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const XENC_NS = 'http://www.w3.org/2001/04/xmlenc#';

/**
 * Parses XML from an identity provider (hostile until its signature verified): no DTD (entity
 * expansion), every parser error fatal. Returns the document element; `failure` is thrown with
 * the reason given (malformed for the raw response, decrypt_failed for a decrypted assertion).
 */
export function parseSamlXml(xml: string, failure: 'malformed' | 'decrypt_failed' = 'malformed'): Element {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SsoFailure(failure, 'the XML contains a DOCTYPE or entity declaration');
  let root: Element | null;
  try {
    root = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') throw new Error(message);
      },
    }).parseFromString(xml, 'text/xml').documentElement;
  } catch (error) {
    throw new SsoFailure(failure, `not well-formed XML (${firstLine(error)})`);
  }
  if (!root) throw new SsoFailure(failure, 'not XML');
  return root;
}

/** The element children of `parent` with this namespace and local name (direct children only: nothing nested is looked at). */
export function children(parent: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    const element = node as Element;
    if (node.nodeType === 1 && element.namespaceURI === ns && element.localName === localName) out.push(element);
  }
  return out;
}

/** The one such child, null when there is none; two are malformed (which one would count is ambiguous). */
export function onlyChild(parent: Element, ns: string, localName: string): Element | null {
  const found = children(parent, ns, localName);
  if (found.length > 1) throw new SsoFailure('malformed', `<${parent.localName}> has ${found.length} <${localName}> elements`);
  return found[0] ?? null;
}

/** The trimmed text of an element (every text node: a comment cannot cut a value short), null when absent or empty. */
export function textOf(element: Element | null): string | null {
  const text = element?.textContent?.trim();
  return text ? text : null;
}

/** An attribute's value, null when absent or empty. */
export function attributeOf(element: Element | null, name: string): string | null {
  const value = element?.getAttribute(name);
  return value ? value : null;
}

/** An xs:dateTime attribute; absent = null, unreadable = malformed. */
export function instantOf(element: Element | null, name: string): Date | null {
  const value = attributeOf(element, name);
  if (value === null) return null;
  // xs:dateTime with a time zone (SAML requires UTC); Date.parse alone would take local times and other spellings.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new SsoFailure('malformed', `${element!.localName}@${name} is not a date-time: ${clip(value)}`);
  }
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new SsoFailure('malformed', `${element!.localName}@${name} is not a date-time: ${clip(value)}`);
  return new Date(at);
}

/** A value from the IdP as it may appear in an audit detail: bounded, printable. */
export function clip(value: string, max = 120): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}

export function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .split('\n')[0]!
    .slice(0, 160);
}
