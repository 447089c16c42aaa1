import type { Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { SsoFailure } from '../sso-assertion.js';
import { children, DS_NS, parseSamlXml } from './saml-xml.js';

const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const EXC_C14N_COMMENTS = 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments';
/** What SAML signatures use (SAML core §5.4.4); anything else is refused rather than interpreted. */
const ALLOWED_TRANSFORMS = new Set([ENVELOPED, EXC_C14N, EXC_C14N_COMMENTS]);
/** SHA-1 is refused: a signature an attacker could collide is no signature. */
const ALLOWED_SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1',
]);
const ALLOWED_DIGESTS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);

/** XML IDs are NCNames; anything else (quotes, spaces) is not an ID we look up. */
const NCNAME = /^[A-Za-z_][A-Za-z0-9._-]{0,255}$/;

/**
 * Verifies the enveloped signature of `element` (a Response or an Assertion) inside the document
 * `documentXml`, with any of the trusted certificates, and returns the element AS SIGNED: parsed
 * again from the bytes the signature covers (xml-crypto's signed reference), so nothing outside
 * them (a wrapped second assertion, a moved original, a comment) can be read afterwards; with
 * those bytes, in which a nested signature is checked in turn.
 *
 * null: the element carries no signature. Throws bad_signature for every other failure: more
 * than one signature, a reference to anything but this element's own ID, unexpected transforms
 * or algorithms, a duplicated ID (xml-crypto), a digest or signature value that does not verify.
 */
export function verifiedSignedCopy(
  documentXml: string,
  element: Element,
  certificatesPem: readonly string[],
): { element: Element; xml: string } | null {
  const signatures = children(element, DS_NS, 'Signature');
  if (signatures.length === 0) return null;
  if (signatures.length > 1) throw new SsoFailure('bad_signature', `<${element.localName}> carries ${signatures.length} signatures`);
  const id = element.getAttribute('ID') ?? '';
  if (!NCNAME.test(id)) throw new SsoFailure('bad_signature', `the signed <${element.localName}> has no usable ID`);

  let lastError = 'no trusted certificate verifies it';
  for (const certificate of certificatesPem) {
    const signed = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
    try {
      // The signature node is loaded from our parse; checkSignature re-parses documentXml and finds it by its value.
      signed.loadSignature(signatures[0] as never);
      checkShape(signed, id, element.localName ?? '');
      if (!signed.checkSignature(documentXml)) {
        lastError = 'a reference digest does not match';
        continue;
      }
      // Again on the references taken from the verified SignedInfo (checkSignature reloads them).
      checkShape(signed, id, element.localName ?? '');
      const references = signed.getSignedReferences();
      if (references.length !== 1) throw new SsoFailure('bad_signature', 'the signature covers more than one reference');
      const copy = parseSamlXml(references[0]!);
      if (copy.namespaceURI !== element.namespaceURI || copy.localName !== element.localName || copy.getAttribute('ID') !== id) {
        throw new SsoFailure('bad_signature', 'the signed bytes are not the element that carries the signature');
      }
      return { element: copy, xml: references[0]! };
    } catch (error) {
      if (error instanceof SsoFailure) throw error;
      lastError = String((error as Error)?.message ?? error).slice(0, 200);
    }
  }
  throw new SsoFailure('bad_signature', `the signature on <${element.localName}> does not verify: ${lastError}`);
}

/** One reference, to this element's own ID, with SAML's transforms and no weak algorithm. */
function checkShape(signed: SignedXml, id: string, what: string): void {
  const references = signed.getReferences();
  if (references.length !== 1) throw new SsoFailure('bad_signature', `the signature on <${what}> has ${references.length} references`);
  const reference = references[0]!;
  if (reference.uri !== `#${id}`) {
    throw new SsoFailure('bad_signature', `the signature on <${what}> references another element than the one it is on`);
  }
  if (reference.transforms.length > 2 || reference.transforms.some((t) => !ALLOWED_TRANSFORMS.has(t))) {
    throw new SsoFailure('bad_signature', `the signature on <${what}> uses transforms SAML does not`);
  }
  if (!ALLOWED_DIGESTS.has(reference.digestAlgorithm)) {
    throw new SsoFailure('bad_signature', `the signature on <${what}> uses the digest ${reference.digestAlgorithm}, which is refused`);
  }
  if (!ALLOWED_SIGNATURE_ALGORITHMS.has(signed.signatureAlgorithm ?? '')) {
    throw new SsoFailure(
      'bad_signature',
      `the signature on <${what}> uses ${signed.signatureAlgorithm ?? 'no algorithm'}, which is refused`,
    );
  }
  if (signed.canonicalizationAlgorithm !== EXC_C14N && signed.canonicalizationAlgorithm !== EXC_C14N_COMMENTS) {
    throw new SsoFailure('bad_signature', `the signature on <${what}> is not canonicalised with exclusive C14N`);
  }
}
