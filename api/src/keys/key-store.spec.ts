import { createPublicKey, sign, verify } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { commandKeyId } from '@xspectre/contracts/command-signature';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeyStore } from './key-store.js';

const SECRET = 'legacy-secret-for-the-key-store-test-0123456789';
/**
 * What the API pinned in devices before the key store, for SECRET: computed with the removed
 * api/src/enrollment/command-signing-key.ts (HKDF seed of API_SECRET_KEY -> Ed25519).
 */
const LEGACY_PUBLIC_KEY_PEM =
  '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAXLo1xR7sXgGj88LREWyJF+Dz+2Wl6SZrkryqew03aXA=\n-----END PUBLIC KEY-----\n';
const LEGACY_KEY_ID = '429617f39e88370d';

let root: string;
let dir: string;
const purposeDir = () => join(dir, 'command-signing');
const manifest = async () => JSON.parse(await readFile(join(purposeDir(), 'keys.json'), 'utf8'));
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

async function openStore(secret = SECRET): Promise<KeyStore> {
  const store = new KeyStore({ API_KEY_STORE_DIR: dir, API_SECRET_KEY: secret });
  await store.onModuleInit();
  return store;
}

beforeAll(() => Logger.overrideLogger(false));

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'xs-key-store-'));
  dir = join(root, 'var', 'keys');
});

afterEach(async () => {
  vi.useRealTimers();
  await rm(root, { recursive: true, force: true });
});

describe('KeyStore: first start', () => {
  it('imports the key derived from API_SECRET_KEY, with 0700 directories and 0600 files', async () => {
    const store = await openStore();
    const current = await store.currentSigningKey('command-signing');
    expect(current.keyId).toBe(LEGACY_KEY_ID);
    expect(createPublicKey(current.privateKey).export({ format: 'pem', type: 'spki' })).toBe(LEGACY_PUBLIC_KEY_PEM);
    expect(await store.validPublicKeys('command-signing')).toEqual([{ keyId: LEGACY_KEY_ID, publicKeyPem: LEGACY_PUBLIC_KEY_PEM }]);

    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(purposeDir())).toBe(0o700);
    expect((await readdir(purposeDir())).sort()).toEqual([`${LEGACY_KEY_ID}.pem`, 'keys.json']);
    expect(await modeOf(join(purposeDir(), `${LEGACY_KEY_ID}.pem`))).toBe(0o600);
    expect(await modeOf(join(purposeDir(), 'keys.json'))).toBe(0o600);
    expect(await readFile(join(purposeDir(), `${LEGACY_KEY_ID}.pem`), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const { keys } = await manifest();
    expect(keys).toEqual([{ keyId: LEGACY_KEY_ID, createdAt: expect.any(String), activeFrom: expect.any(String), retiresAt: null }]);
  });

  it('signs with the current key, verifiable with the public key it hands out', async () => {
    const store = await openStore();
    const { privateKey } = await store.currentSigningKey('command-signing');
    const [pinned] = await store.validPublicKeys('command-signing');
    const message = Buffer.from('a command');
    expect(verify(null, message, pinned!.publicKeyPem, sign(null, message, privateKey))).toBe(true);
  });

  it('keeps its key when API_SECRET_KEY changes afterwards: the files are the truth', async () => {
    await openStore();
    const later = await openStore('an-entirely-different-secret-key-0123456789');
    expect((await later.currentSigningKey('command-signing')).keyId).toBe(LEGACY_KEY_ID);
  });

  it('lets instances starting together agree on one first key, also when their secrets differ', async () => {
    const stores = await Promise.all(
      Array.from({ length: 6 }, (_, i) => openStore(i % 2 === 0 ? SECRET : `another-secret-of-instance-${i}-0123456789abcdef`)),
    );
    const ids = new Set(await Promise.all(stores.map(async (s) => (await s.currentSigningKey('command-signing')).keyId)));
    expect(ids.size).toBe(1);
    const [winner] = ids;
    expect((await manifest()).keys.map((k: { keyId: string }) => k.keyId)).toEqual([winner]);
    // Losers remove their own key files; no temp files are left behind.
    expect((await readdir(purposeDir())).sort()).toEqual([`${winner}.pem`, 'keys.json']);
  });

  it('finishes a first start that stopped after writing the key file', async () => {
    await openStore();
    await rm(join(purposeDir(), 'keys.json'));
    const store = await openStore();
    expect((await store.currentSigningKey('command-signing')).keyId).toBe(LEGACY_KEY_ID);
  });
});

describe('KeyStore: permissions', () => {
  it('refuses a store directory group or others may read', async () => {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chmod(dir, 0o755);
    await expect(openStore()).rejects.toThrow(/accessible by group or others \(mode 755\).*chmod 700/);
  });

  it('refuses a purpose directory, a key file or keys.json group or others may access', async () => {
    await openStore();
    const cases: Array<[string, number, RegExp]> = [
      [purposeDir(), 0o750, /command-signing is accessible by group or others \(mode 750\).*chmod 700/],
      [join(purposeDir(), `${LEGACY_KEY_ID}.pem`), 0o640, /\.pem is accessible by group or others \(mode 640\).*chmod 600/],
      [join(purposeDir(), `${LEGACY_KEY_ID}.pem`), 0o604, /mode 604/],
      [join(purposeDir(), 'keys.json'), 0o644, /keys\.json is accessible by group or others/],
    ];
    for (const [path, mode, message] of cases) {
      await chmod(path, mode);
      await expect(openStore()).rejects.toThrow(message);
      await chmod(path, path === purposeDir() ? 0o700 : 0o600);
    }
    await expect(openStore()).resolves.toBeInstanceOf(KeyStore);
  });

  it('never puts key material in its errors', async () => {
    await openStore();
    const pemPath = join(purposeDir(), `${LEGACY_KEY_ID}.pem`);
    const material = (await readFile(pemPath, 'utf8')).split('\n')[1]!;
    const messageOf = async () => ((await openStore().catch((e: unknown) => e)) as Error).message;
    // Unreadable: the PEM cut in half.
    await writeFile(pemPath, `-----BEGIN PRIVATE KEY-----\n${material.slice(0, 30)}\n-----END PRIVATE KEY-----\n`);
    const unreadable = await messageOf();
    expect(unreadable).toMatch(/is not a PEM private key/);
    expect(unreadable).not.toContain(material.slice(0, 30));
  });
});

describe('KeyStore: integrity', () => {
  it('refuses a key file that holds another key than its name', async () => {
    const first = await openStore();
    await first.rotate('command-signing', 60_000);
    const { keyId } = await first.currentSigningKey('command-signing');
    await writeFile(join(purposeDir(), `${LEGACY_KEY_ID}.pem`), await readFile(join(purposeDir(), `${keyId}.pem`)));
    await expect(openStore()).rejects.toThrow(/holds another key than its name says/);
  });

  it('refuses a keys.json without exactly one current key', async () => {
    await openStore();
    const broken = await manifest();
    broken.keys[0].retiresAt = new Date(Date.now() + 60_000).toISOString();
    await writeFile(join(purposeDir(), 'keys.json'), JSON.stringify(broken));
    await expect(openStore()).rejects.toThrow(/keys\.json is invalid: .*exactly one key/);
  });
});

describe('KeyStore: rotation', () => {
  it('makes a new key current and keeps the previous one valid for the grace period only', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00.000Z'));
    const store = await openStore();
    const rotated = await store.rotate('command-signing', 60_000);
    expect(rotated.previousKeyId).toBe(LEGACY_KEY_ID);
    expect(rotated.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect((await store.currentSigningKey('command-signing')).keyId).toBe(rotated.keyId);
    expect((await store.validPublicKeys('command-signing')).map((k) => k.keyId)).toEqual([rotated.keyId, LEGACY_KEY_ID]);
    const { keys } = await manifest();
    expect(keys).toEqual([
      expect.objectContaining({ keyId: LEGACY_KEY_ID, retiresAt: '2026-01-01T00:01:00.000Z' }),
      { keyId: rotated.keyId, createdAt: '2026-01-01T00:00:00.000Z', activeFrom: '2026-01-01T00:00:00.000Z', retiresAt: null },
    ]);
    // The new key's id is that of the public key it hands out.
    const [current] = await store.validPublicKeys('command-signing');
    expect(commandKeyId(createPublicKey(current!.publicKeyPem))).toBe(rotated.keyId);

    vi.setSystemTime(new Date('2026-01-01T00:00:59.999Z'));
    expect(await store.validPublicKeys('command-signing')).toHaveLength(2);
    vi.setSystemTime(new Date('2026-01-01T00:01:00.000Z'));
    expect((await store.validPublicKeys('command-signing')).map((k) => k.keyId)).toEqual([rotated.keyId]);

    // The next rotation drops the expired key from keys.json and deletes its file.
    const again = await store.rotate('command-signing', 0);
    expect((await manifest()).keys.map((k: { keyId: string }) => k.keyId)).toEqual([rotated.keyId, again.keyId]);
    expect((await readdir(purposeDir())).sort()).toEqual([`${rotated.keyId}.pem`, `${again.keyId}.pem`, 'keys.json'].sort());
    expect((await store.validPublicKeys('command-signing')).map((k) => k.keyId)).toEqual([again.keyId]);
  });

  it('is seen by another instance when keys.json changes on disk', async () => {
    const a = await openStore();
    const b = await openStore();
    const { keyId } = await a.rotate('command-signing', 60_000);
    expect((await b.currentSigningKey('command-signing')).keyId).toBe(keyId);
    expect((await b.validPublicKeys('command-signing')).map((k) => k.keyId)).toEqual([keyId, LEGACY_KEY_ID]);
  });

  it('serialises concurrent rotations of several instances: none is lost', async () => {
    const stores = await Promise.all([openStore(), openStore(), openStore()]);
    const rotations = await Promise.all(stores.map((s) => s.rotate('command-signing', 60_000)));
    const { keys } = await manifest();
    expect(keys.map((k: { keyId: string }) => k.keyId).sort()).toEqual([LEGACY_KEY_ID, ...rotations.map((r) => r.keyId)].sort());
    expect(keys.filter((k: { retiresAt: string | null }) => k.retiresAt === null)).toHaveLength(1);
    expect(new Set(rotations.map((r) => r.previousKeyId)).size).toBe(3); // each saw the one before
    expect(await readdir(purposeDir())).not.toContain('.lock');
  });

  it('replaces keys.json atomically: a concurrent reader never sees a partial file', async () => {
    const store = await openStore();
    const path = join(purposeDir(), 'keys.json');
    const inodes = new Set<number>();
    let rotating = true;
    const reader = (async () => {
      let reads = 0;
      while (rotating || reads === 0) {
        const text = await readFile(path, 'utf8');
        expect(() => JSON.parse(text)).not.toThrow();
        inodes.add((await stat(path)).ino);
        reads++;
      }
      return reads;
    })();
    for (let i = 0; i < 15; i++) await store.rotate('command-signing', 60_000);
    rotating = false;
    expect(await reader).toBeGreaterThan(0);
    // Every write is a new file renamed over the old one, never a rewrite in place.
    expect(inodes.size).toBeGreaterThan(1);
    expect((await readdir(purposeDir())).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(await modeOf(path)).toBe(0o600);
  });

  it('refuses a negative grace period', async () => {
    const store = await openStore();
    await expect(store.rotate('command-signing', -1)).rejects.toThrow(RangeError);
  });
});

describe('KeyStore: announcement', () => {
  it('announces a key that signs only from the end of the grace period, when the current one retires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00.000Z'));
    const store = await openStore();
    expect(await store.announcedKey('command-signing')).toBeNull();
    const announced = await store.announce('command-signing', 3_600_000);
    expect(announced).toEqual({
      keyId: expect.stringMatching(/^[0-9a-f]{16}$/),
      previousKeyId: LEGACY_KEY_ID,
      activatesAt: '2026-01-01T01:00:00.000Z',
    });
    // The current key keeps signing; both are handed out, the signing one first.
    expect((await store.currentSigningKey('command-signing')).keyId).toBe(LEGACY_KEY_ID);
    expect((await store.validPublicKeys('command-signing')).map((k) => k.keyId)).toEqual([LEGACY_KEY_ID, announced.keyId]);
    const pending = await store.announcedKey('command-signing');
    expect(pending).toMatchObject({ keyId: announced.keyId, activatesAt: announced.activatesAt });
    expect(commandKeyId(createPublicKey(pending!.publicKeyPem))).toBe(announced.keyId);
    expect((await manifest()).keys).toEqual([
      expect.objectContaining({ keyId: LEGACY_KEY_ID, retiresAt: '2026-01-01T01:00:00.000Z' }),
      { keyId: announced.keyId, createdAt: '2026-01-01T00:00:00.000Z', activeFrom: '2026-01-01T01:00:00.000Z', retiresAt: null },
    ]);
    // Another instance sees the same.
    const other = await openStore();
    expect((await other.currentSigningKey('command-signing')).keyId).toBe(LEGACY_KEY_ID);
    // One announcement at a time.
    await expect(store.announce('command-signing', 60_000)).rejects.toThrow(/announced already/);

    vi.setSystemTime(new Date('2026-01-01T00:59:59.999Z'));
    expect((await store.currentSigningKey('command-signing')).keyId).toBe(LEGACY_KEY_ID);
    vi.setSystemTime(new Date('2026-01-01T01:00:00.000Z'));
    expect((await store.currentSigningKey('command-signing')).keyId).toBe(announced.keyId);
    expect((await store.validPublicKeys('command-signing')).map((k) => k.keyId)).toEqual([announced.keyId]);
    expect(await store.announcedKey('command-signing')).toBeNull();
    // Then the next announcement may come, and drops the retired key's file.
    const next = await store.announce('command-signing', 60_000);
    expect(next.previousKeyId).toBe(announced.keyId);
    expect(await readdir(purposeDir())).not.toContain(`${LEGACY_KEY_ID}.pem`);
  });

  it('refuses a grace period that is not positive', async () => {
    const store = await openStore();
    await expect(store.announce('command-signing', 0)).rejects.toThrow(RangeError);
    await expect(store.announce('command-signing', 1.5)).rejects.toThrow(RangeError);
  });
});
