import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileExclusive, withLockFile } from './private-files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xs-private-files-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('createFileExclusive', () => {
  it('creates a file once; a second writer gets false and the first content stays', async () => {
    const path = join(dir, 'a.pem');
    const results = await Promise.all(['one', 'two', 'three'].map((text) => createFileExclusive(path, text)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await readdir(dir)).toEqual(['a.pem']); // no temp files left
  });
});

describe('withLockFile', () => {
  it('names a lock file left behind instead of waiting forever', async () => {
    const lock = join(dir, '.lock');
    await writeFile(lock, '4242 2026-01-01T00:00:00.000Z\n');
    let ran = false;
    await expect(
      withLockFile(
        lock,
        async () => {
          ran = true;
        },
        100,
      ),
    ).rejects.toThrow(/\.lock has been held for more than 0\.1 s.*remove the file/);
    expect(ran).toBe(false);
  });

  it('releases the lock when the work fails', async () => {
    const lock = join(dir, '.lock');
    await expect(withLockFile(lock, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await readdir(dir)).toEqual([]);
  });
});
