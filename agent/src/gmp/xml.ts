import { XMLParser, XMLValidator, type EntityDecoderOptions } from 'fast-xml-parser';
import { GmpError } from './errors.js';

/**
 * One parsed GMP element as fast-xml-parser builds it: child elements by name (a repeated name
 * becomes an array), attributes under `@`, text under `#text` when the element also has children
 * or attributes, or the text itself for a plain leaf. Every value is a string: `22.10` stays
 * `22.10`, `0123` stays `0123`.
 */
export type GmpNode = string | GmpElement;
export interface GmpElement {
  [name: string]: GmpNode | GmpNode[] | Record<string, string> | undefined;
}

export interface GmpDocument {
  /** The root element's name, e.g. `get_tasks_response`. */
  name: string;
  root: GmpElement;
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const REFERENCE = /&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{0,31});/g;

function codePoint(ref: string): string {
  const value = ref.startsWith('#x') ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
  const allowed =
    value === 0x9 || value === 0xa || value === 0xd || (value >= 0x20 && value <= 0xd7ff) || (value >= 0xe000 && value <= 0x10ffff);
  if (!allowed || value === 0xfffe || value === 0xffff)
    throw new GmpError('protocol', `character reference &${ref}; is not an XML character`);
  return String.fromCodePoint(value);
}

/**
 * Decodes exactly XML's five predefined entities and character references. Entities declared in
 * a document are refused (no expansion, no "billion laughs"); an unknown name is a protocol error
 * rather than text passed on half-decoded.
 */
const xmlOnlyDecoder: EntityDecoderOptions = {
  setExternalEntities: () => undefined,
  addInputEntities: (entities) => {
    if (Object.keys(entities).length > 0) throw new GmpError('protocol', 'entity declarations are refused');
  },
  reset: () => undefined,
  setXmlVersion: () => undefined,
  decode: (text) =>
    text.includes('&')
      ? text.replace(REFERENCE, (_, ref: string) => {
          if (ref.startsWith('#')) return codePoint(ref);
          const known = PREDEFINED[ref];
          if (known === undefined) throw new GmpError('protocol', `unknown entity &${ref};`);
          return known;
        })
      : text,
};

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '@',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: { enabled: true, maxEntityCount: 1, maxEntitySize: 1 },
  entityDecoder: xmlOnlyDecoder,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
  cdataPropName: false,
  maxNestedTags: 64,
});

const DECLARATION = /<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i;

/** Parses one framed GMP answer. Declarations and unknown entities are refused (protocol errors). */
export function parseGmpXml(text: string): GmpDocument {
  if (DECLARATION.test(text)) throw new GmpError('protocol', 'XML declarations (DOCTYPE, ENTITY) are refused');
  // The parser alone accepts mismatched end tags (`<r><a></r>`); the validator does not.
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new GmpError('protocol', `malformed XML: ${valid.err.msg.slice(0, 200)} (line ${valid.err.line})`);
  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch (err) {
    if (err instanceof GmpError) throw err;
    throw new GmpError('protocol', `malformed XML: ${err instanceof Error ? err.message.slice(0, 200) : 'parse error'}`);
  }
  if (parsed === null || typeof parsed !== 'object') throw new GmpError('protocol', 'no answer element');
  const names = Object.keys(parsed);
  if (names.length !== 1) throw new GmpError('protocol', 'not exactly one answer element');
  const name = names[0]!;
  const value = (parsed as Record<string, unknown>)[name];
  if (Array.isArray(value)) throw new GmpError('protocol', 'not exactly one answer element');
  return { name, root: value !== null && typeof value === 'object' ? (value as GmpElement) : {} };
}
