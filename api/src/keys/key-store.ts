import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { deriveKeys } from '../common/crypto/secrets.js';
import { MANIFEST_FILE, parseKeyManifest, serializeKeyManifest, type KeyEntry, type KeyManifest } from './key-manifest.js';
import { KEY_PURPOSES, KEY_TYPE, type KeyPurpose } from './key-purpose.js';
import { ed25519KeyFromSeed } from './legacy-command-key.js';
import {
  assertPrivate,
  createFileExclusive,
  ensurePrivateDirectory,
  exists,
  KeyStoreError,
  replaceFileAtomic,
  withLockFile,
} from './private-files.js';

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
}

export interface PublicKeyInfo {
  keyId: string;
  publicKeyPem: string;
}

interface LoadedKey extends KeyEntry {
  privateKey: KeyObject;
  publicKeyPem: string;
}

/** One purpose as last read, with what identifies that version of keys.json on disk. */
interface LoadedPurpose {
  ino: number;
  mtimeMs: number;
  size: number;
  /** The current key first, then the retiring ones, newest first. */
  keys: LoadedKey[];
}

const LOCK_FILE = '.lock';

/**
 * The API's signing keys, in files under API_KEY_STORE_DIR, never in the database:
 * `<purpose>/<keyId>.pem` (PKCS#8) and `<purpose>/keys.json` (which keys, current and retiring).
 * Directories 0700, files 0600, anything wider is refused at start. Several instances share the
 * directory: creation is exclusive (link of a complete file), changes are serialised by a lock
 * file and replace keys.json atomically, and every read notices when keys.json changed on disk.
 */
@Injectable()
export class KeyStore implements OnModuleInit {
  private readonly logger = new Logger(KeyStore.name);
  private readonly root: string;
  private readonly loaded = new Map<KeyPurpose, LoadedPurpose>();

  constructor(@Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'API_KEY_STORE_DIR' | 'API_SECRET_KEY'>) {
    // Relative to the working directory, as API_AUDIT_ANCHOR_DIR (`npm start` runs from the repository root).
    this.root = resolve(config.API_KEY_STORE_DIR);
  }

  async onModuleInit(): Promise<void> {
    for (const purpose of KEY_PURPOSES) await this.open(purpose);
  }

  /** Checks the purpose's directory and files, creating the first key on the very first start. */
  async open(purpose: KeyPurpose): Promise<void> {
    await ensurePrivateDirectory(this.root);
    await ensurePrivateDirectory(this.dir(purpose));
    if (!(await exists(this.manifestPath(purpose)))) await this.initialise(purpose);
    await this.load(purpose);
  }

  /**
   * The key new signatures are made with: of the keys not retired, the one active longest ago
   * would be wrong after a rotation, so the newest whose `activeFrom` has come. An announced key
   * (activeFrom ahead, see announce) does not sign yet.
   */
  async currentSigningKey(purpose: KeyPurpose): Promise<SigningKey> {
    const current = currentOf((await this.fresh(purpose)).keys, Date.now());
    return { keyId: current.keyId, privateKey: current.privateKey };
  }

  /**
   * The keys a verifier should accept now: the current one first, then the others not retired
   * (an announced key, or one in its grace period), so a device enrolled during a rotation pins both.
   */
  async validPublicKeys(purpose: KeyPurpose): Promise<PublicKeyInfo[]> {
    const now = Date.now();
    const keys = (await this.fresh(purpose)).keys.filter((key) => key.retiresAt === null || Date.parse(key.retiresAt) > now);
    const current = currentOf(keys, now);
    return [current, ...keys.filter((key) => key !== current)].map(({ keyId, publicKeyPem }) => ({ keyId, publicKeyPem }));
  }

  /**
   * The private keys of every key not retired, the current one first: what decrypts during a
   * rotation (SAML assertions encrypted by an IdP that still has the previous certificate).
   */
  async validPrivateKeys(purpose: KeyPurpose): Promise<SigningKey[]> {
    const now = Date.now();
    const keys = (await this.fresh(purpose)).keys.filter((key) => key.retiresAt === null || Date.parse(key.retiresAt) > now);
    const current = currentOf(keys, now);
    return [current, ...keys.filter((key) => key !== current)].map(({ keyId, privateKey }) => ({ keyId, privateKey }));
  }

  /** The key announced and not yet signing (activeFrom ahead), with when it starts; null when there is none. */
  async announcedKey(purpose: KeyPurpose): Promise<(PublicKeyInfo & { activatesAt: string }) | null> {
    const now = Date.now();
    const key = (await this.fresh(purpose)).keys.find((k) => Date.parse(k.activeFrom) > now);
    return key ? { keyId: key.keyId, publicKeyPem: key.publicKeyPem, activatesAt: key.activeFrom } : null;
  }

  /**
   * Announces a new key: it is written now (so it can be pinned by devices, and is in the enroll
   * answer) but signs only from `now + activateAfterMs`; the current key keeps signing until then
   * and retires at that moment. Devices therefore never get a command signed with a key they
   * could not have pinned during the announcement. Refused while another key is announced.
   */
  async announce(purpose: KeyPurpose, activateAfterMs: number): Promise<{ keyId: string; previousKeyId: string; activatesAt: string }> {
    if (!Number.isSafeInteger(activateAfterMs) || activateAfterMs <= 0) throw new RangeError('activateAfterMs must be a positive integer');
    return withLockFile(join(this.dir(purpose), LOCK_FILE), async () => {
      const manifest = await this.readManifest(purpose);
      const now = Date.now();
      const stillValid = manifest.keys.filter((key) => key.retiresAt === null || Date.parse(key.retiresAt) > now);
      if (stillValid.some((key) => Date.parse(key.activeFrom) > now)) throw new KeyAnnouncedError();
      const expired = manifest.keys.filter((key) => !stillValid.includes(key));
      const previous = stillValid.find((key) => key.retiresAt === null)!;
      const privateKey = generateKey(purpose);
      const keyId = keyIdOf(createPublicKey(privateKey));
      if (!(await createFileExclusive(this.pemPath(purpose, keyId), pemOf(privateKey)))) {
        throw new KeyStoreError(`${this.pemPath(purpose, keyId)} already exists`);
      }
      const activatesAt = new Date(now + activateAfterMs).toISOString();
      const keys: KeyEntry[] = [
        ...stillValid.map((key) => (key.retiresAt === null ? { ...key, retiresAt: activatesAt } : key)),
        { keyId, createdAt: new Date(now).toISOString(), activeFrom: activatesAt, retiresAt: null },
      ];
      await replaceFileAtomic(this.manifestPath(purpose), serializeKeyManifest({ version: 1, keys }));
      for (const key of expired) await unlink(this.pemPath(purpose, key.keyId)).catch(() => undefined);
      await this.load(purpose);
      this.logger.log({ msg: 'signing key announced', purpose, keyId, previousKeyId: previous.keyId, activatesAt });
      return { keyId, previousKeyId: previous.keyId, activatesAt };
    });
  }

  /**
   * A new key becomes current; the previous one stays valid for `graceMs`. Keys whose grace has
   * ended leave keys.json and their files are deleted.
   */
  async rotate(purpose: KeyPurpose, graceMs: number): Promise<{ keyId: string; previousKeyId: string }> {
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw new RangeError('graceMs must be a non-negative integer');
    return withLockFile(join(this.dir(purpose), LOCK_FILE), async () => {
      const manifest = await this.readManifest(purpose);
      const privateKey = generateKey(purpose);
      const keyId = keyIdOf(createPublicKey(privateKey));
      if (!(await createFileExclusive(this.pemPath(purpose, keyId), pemOf(privateKey)))) {
        throw new KeyStoreError(`${this.pemPath(purpose, keyId)} already exists`);
      }
      const now = Date.now();
      const stillValid = manifest.keys.filter((key) => key.retiresAt === null || Date.parse(key.retiresAt) > now);
      const expired = manifest.keys.filter((key) => !stillValid.includes(key));
      const previous = manifest.keys.find((key) => key.retiresAt === null)!;
      const at = new Date(now).toISOString();
      const keys: KeyEntry[] = [
        ...stillValid.map((key) => (key.retiresAt === null ? { ...key, retiresAt: new Date(now + graceMs).toISOString() } : key)),
        { keyId, createdAt: at, activeFrom: at, retiresAt: null },
      ];
      await replaceFileAtomic(this.manifestPath(purpose), serializeKeyManifest({ version: 1, keys }));
      // Only after keys.json no longer lists them: a reader never finds a listed key missing.
      for (const key of expired) await unlink(this.pemPath(purpose, key.keyId)).catch(() => undefined);
      await this.load(purpose);
      this.logger.log({ msg: 'signing key rotated', purpose, keyId, previousKeyId: previous.keyId, graceMs });
      return { keyId, previousKeyId: previous.keyId };
    });
  }

  private dir(purpose: KeyPurpose): string {
    return join(this.root, purpose);
  }

  private manifestPath(purpose: KeyPurpose): string {
    return join(this.dir(purpose), MANIFEST_FILE);
  }

  private pemPath(purpose: KeyPurpose, keyId: string): string {
    return join(this.dir(purpose), `${keyId}.pem`);
  }

  /** The first key of an empty store; for command signing the one devices enrolled so far pinned. */
  private initialKey(purpose: KeyPurpose): { key: KeyObject; origin: string } {
    switch (purpose) {
      case 'command-signing':
        return {
          key: ed25519KeyFromSeed(deriveKeys(this.config.API_SECRET_KEY).commandSigningSeed),
          origin: 'derived from API_SECRET_KEY',
        };
      case 'backup-tokens':
      case 'saml-sp':
      case 'ssh-user-ca':
        // Nothing was ever signed with an earlier one: a fresh key (instances starting together agree in initialise).
        return { key: generateKey(purpose), origin: 'generated' };
    }
  }

  /**
   * Writes the first key and keys.json, each created exclusively: when instances start together
   * one manifest wins and every instance then reads that one.
   */
  private async initialise(purpose: KeyPurpose): Promise<void> {
    const { key, origin } = this.initialKey(purpose);
    const keyId = keyIdOf(createPublicKey(key));
    // false: the same key is there already (another instance with the same secret, or a start that stopped halfway).
    const wroteKey = await createFileExclusive(this.pemPath(purpose, keyId), pemOf(key));
    const at = new Date().toISOString();
    const manifest: KeyManifest = { version: 1, keys: [{ keyId, createdAt: at, activeFrom: at, retiresAt: null }] };
    if (await createFileExclusive(this.manifestPath(purpose), serializeKeyManifest(manifest))) {
      this.logger.log({ msg: 'key store initialised', purpose, keyId, origin });
      return;
    }
    // Another instance won; a key of ours that its manifest does not list is removed.
    const winner = await this.readManifest(purpose);
    if (wroteKey && !winner.keys.some((k) => k.keyId === keyId)) await unlink(this.pemPath(purpose, keyId)).catch(() => undefined);
  }

  private async readManifest(purpose: KeyPurpose): Promise<KeyManifest> {
    const path = this.manifestPath(purpose);
    await assertPrivate(path, 'file');
    return parseKeyManifest(await readFile(path, 'utf8'), path);
  }

  /** The loaded keys, read again first when keys.json is another file than last time (another instance rotated). */
  private async fresh(purpose: KeyPurpose): Promise<LoadedPurpose> {
    const loaded = this.loaded.get(purpose);
    if (!loaded) throw new KeyStoreError(`the ${purpose} keys were not opened`);
    const info = await stat(this.manifestPath(purpose));
    if (info.ino === loaded.ino && info.mtimeMs === loaded.mtimeMs && info.size === loaded.size) return loaded;
    return this.load(purpose);
  }

  /** Reads keys.json and every key it lists that is still valid, checking modes, types and ids. */
  private async load(purpose: KeyPurpose): Promise<LoadedPurpose> {
    const path = this.manifestPath(purpose);
    await assertPrivate(path, 'file');
    // Identity and content from one open file, so a concurrent replacement is seen on the next read.
    const handle = await open(path, 'r');
    let info: Awaited<ReturnType<typeof handle.stat>>;
    let manifest: KeyManifest;
    try {
      info = await handle.stat();
      manifest = parseKeyManifest(await handle.readFile('utf8'), path);
    } finally {
      await handle.close();
    }
    const now = Date.now();
    const keys: LoadedKey[] = [];
    for (const entry of manifest.keys) {
      if (entry.retiresAt !== null && Date.parse(entry.retiresAt) <= now) continue;
      keys.push({ ...entry, ...(await this.readKey(purpose, entry.keyId)) });
    }
    keys.sort((a, b) => Number(b.retiresAt === null) - Number(a.retiresAt === null) || Date.parse(b.activeFrom) - Date.parse(a.activeFrom));
    const loaded: LoadedPurpose = { ino: info.ino, mtimeMs: info.mtimeMs, size: info.size, keys };
    this.loaded.set(purpose, loaded);
    return loaded;
  }

  private async readKey(purpose: KeyPurpose, keyId: string): Promise<{ privateKey: KeyObject; publicKeyPem: string }> {
    const path = this.pemPath(purpose, keyId);
    await assertPrivate(path, 'file');
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: await readFile(path), format: 'pem' });
    } catch {
      throw new KeyStoreError(`${path} is not a PEM private key`);
    }
    if (privateKey.asymmetricKeyType !== KEY_TYPE[purpose]) {
      throw new KeyStoreError(`${path} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; ${purpose} keys are ${KEY_TYPE[purpose]}`);
    }
    const publicKey = createPublicKey(privateKey);
    if (keyIdOf(publicKey) !== keyId) throw new KeyStoreError(`${path} holds another key than its name says`);
    return { privateKey, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
  }
}

/** Thrown by announce while an announced key has not started signing yet. */
export class KeyAnnouncedError extends Error {
  constructor() {
    super('a key is announced already and does not sign yet');
    this.name = 'KeyAnnouncedError';
  }
}

/** The signing key at `now`: the newest activeFrom that has come (the manifest's one null retiresAt may still be ahead). */
function currentOf<K extends { activeFrom: string }>(keys: readonly K[], now: number): K {
  let best: K | undefined;
  for (const key of keys) {
    if (Date.parse(key.activeFrom) > now) continue;
    if (!best || Date.parse(key.activeFrom) > Date.parse(best.activeFrom)) best = key;
  }
  // Only an announcement makes activeFrom lie ahead, and it keeps the previous key until then.
  return best ?? keys[0]!;
}

function pemOf(privateKey: KeyObject): string {
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function generateKey(purpose: KeyPurpose): KeyObject {
  return KEY_TYPE[purpose] === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey
    : generateKeyPairSync('ed25519').privateKey;
}

/** The first 16 hex digits of the SHA-256 of the public key's SPKI DER (for Ed25519 the command key id devices pin). */
function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);
}
