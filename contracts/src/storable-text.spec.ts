import { describe, expect, it } from 'vitest';
import { findUnstorableText, isStorableText } from './storable-text.js';

describe('storable text', () => {
  it('accepts ordinary text, well-formed surrogate pairs included, and refuses NUL and lone surrogates', () => {
    for (const ok of ['', 'plain', 'Café', '🛰️ scanner', 'a\u00e9\u4e2d', '\uD83D\uDE00']) expect(isStorableText(ok), ok).toBe(true);
    for (const bad of ['\u0000', 'a\u0000b', '\uD800', 'x\uDFFF', '\uDE00\uD83D', 'ok\uD83D']) expect(isStorableText(bad)).toBe(false);
  });

  it('names every bad string by its path, bad keys by position, and stops at 20 findings', () => {
    const value = { a: 'ok', b: ['fine', 'bad\u0000'], c: { d: '\uD800' }, ['k\u0000']: 1 };
    expect(findUnstorableText(value)).toEqual([{ path: ['b', '1'] }, { path: ['c', 'd'] }, { path: ['<key #3>'] }]);
    expect(findUnstorableText('\u0000')).toEqual([{ path: [] }]);
    expect(findUnstorableText(Array.from({ length: 50 }, () => '\uD800'))).toHaveLength(20);
    expect(findUnstorableText({ ['x'.repeat(100)]: '\u0000' })[0]!.path[0]).toBe(`${'x'.repeat(64)}…`);
  });
});
