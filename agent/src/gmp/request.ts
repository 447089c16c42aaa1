import { GmpError } from './errors.js';

/**
 * GMP commands as XML text. Every value is escaped here, so a password or filter holding
 * `<`, `&` or quotes is sent as data and can never add markup; characters XML cannot carry at
 * all (NUL and most control characters) are refused instead of being sent.
 */

// XML 1.0 Char production: tab, newline, carriage return and everything from U+0020 but the
// surrogates (a lone one cannot be encoded) and U+FFFE/U+FFFF.
const NOT_XML_CHAR =
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this finds
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const NAME = /^[a-z][a-z_]{0,63}$/;

function checkChars(value: string, what: string): void {
  if (NOT_XML_CHAR.test(value)) throw new GmpError('protocol', `${what} contains a character XML cannot carry`);
}

/** Element text: `&`, `<` and `>` (the last so `]]>` cannot appear). */
export function escapeText(value: string): string {
  checkChars(value, 'text');
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values (always double-quoted here): also both quotes and the whitespace XML would normalise. */
export function escapeAttribute(value: string): string {
  checkChars(value, 'attribute');
  return escapeText(value)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

export type GmpAttributes = Record<string, string | number | boolean | undefined>;

/** `<name a="…"/>`, or with children (already-built XML from `gmpElement`/`escapeText`). */
export function gmpElement(name: string, attributes: GmpAttributes = {}, inner = ''): string {
  if (!NAME.test(name)) throw new GmpError('protocol', `not a GMP element name: ${name.slice(0, 64)}`);
  let xml = `<${name}`;
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    if (!NAME.test(key)) throw new GmpError('protocol', `not a GMP attribute name: ${key.slice(0, 64)}`);
    const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    xml += ` ${key}="${escapeAttribute(text)}"`;
  }
  return inner === '' ? `${xml}/>` : `${xml}>${inner}</${name}>`;
}

/** The one command whose body carries secrets: never logged, built only here. */
export function authenticateCommand(username: string, password: string): string {
  const credentials = gmpElement('username', {}, escapeText(username)) + gmpElement('password', {}, escapeText(password));
  return gmpElement('authenticate', {}, gmpElement('credentials', {}, credentials));
}
