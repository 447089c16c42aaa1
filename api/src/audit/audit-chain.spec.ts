import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, canonicalJson, chainHash, findChainBreak, type ChainedFields } from './audit-chain.js';
import { toStorableText } from '@xspectre/contracts';
import { AUDIT_BOUNDS, boundDetails, cappedText } from './audit-bounds.js';
import { csvCell, auditCsv } from './audit-csv.js';

function chain(n: number): Array<ChainedFields & { hash: string }> {
  const rows: Array<ChainedFields & { hash: string }> = [];
  for (let i = 1; i <= n; i++) {
    const row: ChainedFields = {
      id: String(i),
      occurredAt: new Date(Date.UTC(2026, 10, 23, 12, 0, i)),
      userId: null,
      userEmail: 'a@b.c',
      sourceIp: '127.0.0.1',
      requestId: `r${i}`,
      action: 'thing.do',
      resourceType: 'thing',
      resourceId: `t${i}`,
      details: { b: 1, a: { y: [1, 2], x: 'z' } },
      result: 'success',
      errorMessage: null,
      prevHash: rows.at(-1)?.hash ?? GENESIS_HASH,
    };
    rows.push({ ...row, hash: chainHash(row) });
  }
  return rows;
}

describe('audit chain', () => {
  it('canonical JSON ignores key order at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } })).toBe(canonicalJson({ a: { c: [3, { e: 2, f: 1 }], d: 2 }, b: 1 }));
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
  });

  it('accepts an intact chain, also continued from an earlier page', () => {
    const rows = chain(5);
    expect(findChainBreak(rows, null)).toBeNull();
    expect(findChainBreak(rows.slice(2), { id: rows[1]!.id, hash: rows[1]!.hash })).toBeNull();
  });

  it('finds an edited row, a removed row and a re-linked forgery', () => {
    const edited = chain(4);
    edited[2] = { ...edited[2]!, action: 'other' };
    expect(findChainBreak(edited, null)).toEqual({ id: '3', reason: 'row content does not match its hash' });

    const gap = chain(4);
    gap.splice(1, 1);
    expect(findChainBreak(gap, null)?.id).toBe('3');

    // An attacker rewrites row 2 and recomputes its hash: row 3 no longer links to it.
    const forged = chain(4);
    const row2 = { ...forged[1]!, details: { forged: true } };
    forged[1] = { ...row2, hash: chainHash(row2) };
    expect(findChainBreak(forged, null)).toEqual({ id: '3', reason: 'prev_hash does not match the previous row' });
  });

  it('redacts secrets at any depth and escapes NUL', () => {
    const out = boundDetails({
      password: 'x',
      nested: [{ refreshToken: 'y', name: 'ok\u0000' }],
      totpCode: '1',
      apiKey: 'k',
      kind: 'customer',
    });
    expect(out).toEqual({
      password: '[redacted]',
      nested: [{ refreshToken: '[redacted]', name: 'ok\\u0000' }],
      totpCode: '[redacted]',
      apiKey: '[redacted]',
      kind: 'customer',
    });
  });

  it('makes any text storable: unpaired surrogates become U+FFFD, NUL a visible escape, keys too', () => {
    expect(toStorableText('a\ud800b\udc00c\ud83d\ude00')).toBe('a\ufffdb\ufffdc\ud83d\ude00');
    expect(toStorableText('x\u0000y')).toBe('x\\u0000y');
    expect(boundDetails({ 'k\u0000\ud800': 'v\udfff' })).toEqual({ 'k\\u0000\ufffd': 'v\ufffd' });
    expect(cappedText('\ud83d\ude00'.repeat(3), 3)).toBe('\ud83d\ude00\ufffd…');
  });

  it('bounds keys, arrays, strings, depth and the serialized size', () => {
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key${i}`, 'v'.repeat(1000)]));
    const out = boundDetails({ route: '/x', errorCode: 'VALIDATION_FAILED', body: many, list: Array.from({ length: 50 }, () => 1) });
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThanOrEqual(AUDIT_BOUNDS.detailsBytes);
    expect(out.route).toBe('/x');
    expect(out.errorCode).toBe('VALIDATION_FAILED');
    const body = out.body as Record<string, unknown>;
    expect(Object.keys(body)).toHaveLength(AUDIT_BOUNDS.keysPerObject + 1);
    expect(body['…']).toBe(`${5000 - AUDIT_BOUNDS.keysPerObject} more keys`);
    expect(out.list).toHaveLength(AUDIT_BOUNDS.arrayItems + 1);
    expect(boundDetails({ a: { b: { c: { d: { e: { f: 1 } } } } } })).toEqual({ a: { b: { c: { d: { e: '[object]' } } } } });
    expect(JSON.stringify(boundDetails(JSON.parse('{"body":{"__proto__":{"x":1}}}') as Record<string, unknown>))).toBe(
      '{"body":{"__proto__":{"x":1}}}',
    );
  });
});

describe('audit CSV', () => {
  it('quotes per RFC 4180 and defuses spreadsheet formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=SUM(A1)')).toBe("'=SUM(A1)");
    expect(csvCell('-1+2')).toBe("'-1+2");
    expect(csvCell(null)).toBe('');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
    expect(auditCsv([]).split('\r\n')[0]).toMatch(/^id,timestamp,/);
  });
});
