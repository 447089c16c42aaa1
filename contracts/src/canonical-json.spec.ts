import { describe, expect, it } from 'vitest';
import { CANONICAL_JSON_MAX_DEPTH, CanonicalJsonError, canonicalJson, canonicalJsonBytes } from './canonical-json.js';

/** An IEEE 754 double from its 16 hex digits, as RFC 8785 Appendix B lists them. */
function double(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
        '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('sorts a surrogate pair (U+1F600) before U+FB33 although its code point is larger', () => {
    expect(canonicalJson({ '\ufb33': 1, '\u{1f600}': 2 })).toBe('{"\u{1f600}":2,"\ufb33":1}');
  });

  it('writes the RFC 8785 §3.2.2 example byte for byte', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('escapes control characters as JSON.stringify does: short forms, else lower-case \\u00xx', () => {
    const controls = Array.from({ length: 0x20 }, (_, code) => String.fromCharCode(code)).join('') + '\u007f"\\/';
    expect(canonicalJson(controls)).toBe(
      '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f' +
        '\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f' +
        '\u007f\\"\\\\/"',
    );
  });

  it('writes numbers as ECMAScript Number::toString (RFC 8785 Appendix B)', () => {
    const cases: Array<[string, string]> = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555553', '333333333.3333332'],
    ];
    for (const [bits, text] of cases) expect(canonicalJson(double(bits)), bits).toBe(text);
    expect(canonicalJson([0.1, -0, 1e21, 1e-7, 100])).toBe('[0.1,0,1e+21,1e-7,100]');
  });

  it('refuses NaN and both infinities (RFC 8785 Appendix B: no JSON form)', () => {
    for (const value of [NaN, Infinity, -Infinity, double('7fffffffffffffff'), double('7ff0000000000000')]) {
      expect(() => canonicalJson({ a: [value] })).toThrow(CanonicalJsonError);
    }
  });

  it('writes nested objects and arrays without whitespace, array order kept', () => {
    expect(canonicalJson({ b: [3, { z: null, a: true }], a: {} })).toBe('{"a":{},"b":[3,{"a":true,"z":null}]}');
    expect(canonicalJson([])).toBe('[]');
  });

  it('gives the same text for the same data whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: { b: 2, a: 1 } })).toBe(canonicalJson(JSON.parse('{ "y": { "a": 1, "b": 2 }, "x": 1 }')));
  });

  it('refuses unpaired surrogates in strings and keys (input must be I-JSON)', () => {
    expect(() => canonicalJson('\ud800')).toThrow(CanonicalJsonError);
    expect(() => canonicalJson('a\udc00')).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ '\udbff': 1 })).toThrow(CanonicalJsonError);
    expect(canonicalJson('\ud800\udc00')).toBe('"\u{10000}"');
  });

  it('refuses what JSON.stringify would drop or convert', () => {
    const notJson: unknown[] = [
      undefined,
      { a: undefined },
      [undefined],
      () => 1,
      Symbol('s'),
      10n,
      new Date(0),
      new Map(),
      { [Symbol('k')]: 1 },
      // eslint-disable-next-line no-sparse-arrays
      [1, , 2],
      new (class Point {
        x = 1;
      })(),
    ];
    for (const value of notJson) expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
    expect(canonicalJson(Object.assign(Object.create(null), { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });

  it('refuses nesting deeper than its limit, so a cycle ends in an error and not a stack overflow', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/nested deeper/);
    let deep: unknown = 1;
    for (let i = 0; i < CANONICAL_JSON_MAX_DEPTH; i++) deep = [deep];
    expect(canonicalJson(deep)).toBe(`${'['.repeat(CANONICAL_JSON_MAX_DEPTH)}1${']'.repeat(CANONICAL_JSON_MAX_DEPTH)}`);
    expect(() => canonicalJson([deep])).toThrow(/nested deeper/);
  });

  it('encodes the text as UTF-8', () => {
    expect(Array.from(canonicalJsonBytes({ '\u20ac': '\u{1f600}' }))).toEqual([
      0x7b, 0x22, 0xe2, 0x82, 0xac, 0x22, 0x3a, 0x22, 0xf0, 0x9f, 0x98, 0x80, 0x22, 0x7d,
    ]);
  });
});
