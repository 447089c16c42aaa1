import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AsciicastWriter } from './asciicast-writer.js';

const header = { width: 80, height: 24, timestamp: 1_700_000_000, title: 'scanner-1 — op@example.com' };

describe('AsciicastWriter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-cast-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes asciicast v2 (header, output, input, resize) to a 0600 file whose SHA-256 it returns', async () => {
    const path = join(dir, 's.cast');
    const start = 1_000_000;
    const writer = await AsciicastWriter.create(path, header, () => undefined, undefined, start);
    writer.input(Buffer.from('hostname\r'), start + 500);
    writer.output(Buffer.from('hostname\r\nscanner-1\r\n'), start + 1500);
    writer.resize(120, 40, start + 2000);
    const sealed = await writer.finish();

    const bytes = await readFile(path);
    expect(sealed).toEqual({ bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const lines = bytes
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ version: 2, ...header, env: { TERM: 'xterm-256color' } });
    expect(lines.slice(1)).toEqual([
      [0.5, 'i', 'hostname\r'],
      [1.5, 'o', 'hostname\r\nscanner-1\r\n'],
      [2, 'r', '120x40'],
    ]);
  });

  it('keeps a multi-byte character split across chunks whole', async () => {
    const path = join(dir, 'u.cast');
    const writer = await AsciicastWriter.create(path, header, () => undefined);
    const text = Buffer.from('äöü ✓\n', 'utf8');
    // Split inside ✓ (3 bytes) and inside ä (2 bytes).
    writer.output(text.subarray(0, 1));
    writer.output(text.subarray(1, 8));
    writer.output(text.subarray(8));
    await writer.finish();
    const events = (await readFile(path, 'utf8'))
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l) as [number, string, string]);
    expect(events.map((e) => e[2]).join('')).toBe('äöü ✓\n');
    expect(events.every((e) => !e[2].includes('\ufffd'))).toBe(true);
  });

  it('never overwrites an existing file', async () => {
    const path = join(dir, 'exists.cast');
    await writeFile(path, 'x');
    await expect(AsciicastWriter.create(path, header, () => undefined)).rejects.toThrow(/EEXIST/);
  });

  it('reports congestion, and fails (once) rather than queue past its bound', async () => {
    const failures: Error[] = [];
    const writer = await AsciicastWriter.create(join(dir, 'slow.cast'), header, (e) => failures.push(e), {
      highWaterBytes: 1024,
      maxQueuedBytes: 16 * 1024,
    });
    // Synchronous appends outrun the disk: nothing has been written yet when they arrive.
    writer.output(Buffer.alloc(2000, 0x61));
    expect(writer.congested).toBe(true);
    let drained = false;
    writer.onceUncongested(() => (drained = true));
    for (let i = 0; i < 20; i++) writer.output(Buffer.alloc(2000, 0x61));
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).toMatch(/fell more than 16384 bytes behind/);
    expect(writer.failed).toBe(failures[0]);
    expect(drained).toBe(true);
    await writer.finish();
  });
});
