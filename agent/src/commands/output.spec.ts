import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_OUTPUT_MAX_BYTES, CommandStatusReportSchema } from '@xspectre/contracts';
import { boundBytes, boundUtf8, readBoundedFile } from './output.js';

const utf8Length = (text: string) => Buffer.byteLength(text, 'utf8');

describe('boundUtf8', () => {
  it('keeps short text as it is', () => {
    expect(boundUtf8('grüße\n', 64)).toEqual({ text: 'grüße\n', truncated: false });
    expect(boundUtf8('x'.repeat(64), 64)).toEqual({ text: 'x'.repeat(64), truncated: false });
  });

  it('cuts on a character boundary, never inside a multi-byte character', () => {
    // 'ü' is 2 bytes, '€' 3, '😀' 4: every cut position inside them backs off to their start.
    for (const char of ['ü', '€', '😀']) {
      const text = `ab${char.repeat(40)}`;
      for (let max = 2; max < 20; max++) {
        const bounded = boundUtf8(text, max);
        expect(bounded.truncated).toBe(true);
        expect(utf8Length(bounded.text)).toBeLessThanOrEqual(max);
        expect(utf8Length(bounded.text)).toBeGreaterThan(max - Buffer.byteLength(char));
        expect(bounded.text).not.toContain('\uFFFD');
        expect(text.startsWith(bounded.text)).toBe(true);
      }
    }
  });

  it('makes NUL and lone surrogates storable', () => {
    expect(boundUtf8('a\u0000b\uD800c', 64).text).toBe('a\\u0000b\uFFFDc');
  });

  it('output at the default bound passes the status report contract', () => {
    const bounded = boundUtf8('€'.repeat(COMMAND_OUTPUT_MAX_BYTES));
    expect(bounded.truncated).toBe(true);
    expect(utf8Length(bounded.text)).toBe(COMMAND_OUTPUT_MAX_BYTES - (COMMAND_OUTPUT_MAX_BYTES % 3));
    expect(CommandStatusReportSchema.safeParse({ status: 'succeeded', stdout: bounded.text, stdoutTruncated: true }).success).toBe(true);
  });
});

describe('boundBytes', () => {
  it('replaces invalid UTF-8 and still respects the bound (U+FFFD takes 3 bytes)', () => {
    const bounded = boundBytes(Buffer.alloc(100, 0xff), 100);
    expect(utf8Length(bounded.text)).toBeLessThanOrEqual(100);
    expect(bounded.truncated).toBe(true);
    expect(boundBytes(Buffer.from('ok'), 100, true)).toEqual({ text: 'ok', truncated: true });
  });
});

describe('readBoundedFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-output-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads a small file whole, a missing one as empty', async () => {
    await writeFile(join(dir, 'small'), 'restarted nginx.service\n');
    expect(await readBoundedFile(join(dir, 'small'))).toEqual({ text: 'restarted nginx.service\n', truncated: false });
    expect(await readBoundedFile(join(dir, 'missing'))).toEqual({ text: '', truncated: false });
  });

  it('keeps the first bytes of a large file, flagged, cut on a character', async () => {
    await writeFile(join(dir, 'large'), 'ä'.repeat(100_000)); // 200,000 bytes
    const bounded = await readBoundedFile(join(dir, 'large'));
    expect(bounded.truncated).toBe(true);
    expect(utf8Length(bounded.text)).toBe(COMMAND_OUTPUT_MAX_BYTES);
    expect(bounded.text).toBe('ä'.repeat(COMMAND_OUTPUT_MAX_BYTES / 2));
    await writeFile(join(dir, 'exact'), 'x'.repeat(COMMAND_OUTPUT_MAX_BYTES));
    expect((await readBoundedFile(join(dir, 'exact'))).truncated).toBe(false);
  });
});
