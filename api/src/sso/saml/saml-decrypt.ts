import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { XMLSerializer, type Element } from '@xmldom/xmldom';
import xmlenc from 'xml-encryption';
import { SsoFailure } from '../sso-assertion.js';

/**
 * Content encryption the SP metadata offers (api/src/sso/saml/saml-protocol.ts) and accepts.
 * AES-CBC stays accepted because Entra ID encrypts with aes256-cbc; the ciphertext an attacker
 * could alter for a padding oracle only reaches decryption when the response is unsigned, and
 * every failure from there on reads the same (decrypt_failed).
 */
const CONTENT_ALGORITHMS = new Set([
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
]);
/** Key transport: RSA-OAEP only (RSA PKCS#1 v1.5 is the Bleichenbacher oracle). */
const KEY_ALGORITHMS = new Set(['http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p', 'http://www.w3.org/2009/xmlenc11#rsa-oaep']);

const decrypt = promisify(xmlenc.decrypt) as unknown as (xml: string, options: Record<string, unknown>) => Promise<string>;

/**
 * Decrypts an EncryptedAssertion with the first of the SP keys that opens it (the current
 * saml-sp key, and during a rotation the previous one). Returns the plaintext assertion XML.
 */
export async function decryptAssertion(encrypted: Element, keys: readonly KeyObject[]): Promise<string> {
  const algorithms = Array.from(encrypted.getElementsByTagNameNS('*', 'EncryptionMethod')).map((m) => m.getAttribute('Algorithm') ?? '');
  const content = algorithms.filter((a) => CONTENT_ALGORITHMS.has(a));
  const transport = algorithms.filter((a) => KEY_ALGORITHMS.has(a));
  const other = algorithms.filter((a) => !CONTENT_ALGORITHMS.has(a) && !KEY_ALGORITHMS.has(a));
  if (content.length !== 1 || transport.length < 1 || other.length > 0) {
    throw new SsoFailure(
      'decrypt_failed',
      `the encrypted assertion uses algorithms that are refused (${algorithms.join(', ').slice(0, 300)})`,
    );
  }
  const xml = new XMLSerializer().serializeToString(encrypted);
  for (const key of keys) {
    try {
      const plain = await decrypt(xml, {
        key: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
        // The allow-lists above decide; the library's own list refuses AES-CBC, which Entra ID uses.
        disallowDecryptionWithInsecureAlgorithm: false,
        warnInsecureAlgorithm: false,
      });
      if (typeof plain === 'string' && plain.length > 0) return plain;
    } catch {
      // The next key: an assertion encrypted for the previous certificate during a rotation.
    }
  }
  throw new SsoFailure('decrypt_failed', 'no service provider key decrypts the assertion');
}
