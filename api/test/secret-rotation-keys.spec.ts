import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_TOKEN_AUDIENCE, BACKUP_TOKEN_ISSUER } from '@xspectre/contracts';
import { signBackupToken, verifyBackupToken } from '@xspectre/contracts/backup-token';
import { loadBackupTokenPublicKeys } from '@xspectre/backup-server/public-keys';
import { KeyStore } from '../src/keys/key-store.js';
import { announceBackupTokenKey, writeBackupTokenPublicKeys } from '../src/keys/rotate-key.js';
import { TestApi } from './support/harness.js';

const CLI = fileURLToPath(new URL('../dist/keys/rotate-key.js', import.meta.url));

/** Polls until `check` holds (bounded). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Rotating the backup-token key with an overlap (api/README.md, "Rotating secrets"): the new key
 * is announced, the backup server is given both public keys, the API signs with the new key from
 * the announced moment, and tokens signed with the old one stay valid where the backup server
 * still holds its public key. The backup server's side is its own loader
 * (backup-server/src/public-keys.ts) and the verification its front calls (verifyBackupToken).
 */
describe('backup-token key rotation', () => {
  let api: TestApi;
  let admin: string;
  let publicKeyDir: string;

  /** A token as BackupTokensService.sign makes it, with the API's current signing key. */
  const issue = async () => {
    const key = await api.app.get(KeyStore).currentSigningKey('backup-tokens');
    const iat = Math.floor(Date.now() / 1000);
    const token = signBackupToken(key.privateKey, key.keyId, {
      iss: BACKUP_TOKEN_ISSUER,
      aud: BACKUP_TOKEN_AUDIENCE,
      sub: '00000000-0000-4000-8000-000000000001',
      op: 'append',
      iat,
      exp: iat + 600,
      jti: randomBytes(12).toString('base64url'),
    });
    return { token, keyId: key.keyId };
  };
  const backupServerAccepts = async (token: string) => verifyBackupToken(token, await loadBackupTokenPublicKeys(publicKeyDir), new Date());

  beforeAll(async () => {
    api = await TestApi.start();
    admin = await api.adminToken();
    publicKeyDir = await mkdtemp(join(tmpdir(), 'xs-backup-token-keys-'));
  });
  afterAll(async () => {
    await api?.stop();
    await rm(publicKeyDir, { recursive: true, force: true });
  });

  it('announce, both public keys at the backup server, activation, old tokens still accepted, then the old key dropped', async () => {
    // Before: the backup server holds the one key, and accepts the API's tokens.
    const store = new KeyStore(api.config);
    await store.open('backup-tokens');
    expect(await writeBackupTokenPublicKeys(store, publicKeyDir)).toHaveLength(1);
    const before = await issue();
    expect(await backupServerAccepts(before.token)).toMatchObject({ ok: true });

    // Announce (as the CLI does, with a store of its own on the same directory): the API still signs with the old key.
    const rotation = await announceBackupTokenKey(store, 1500, publicKeyDir);
    expect(rotation.previousKeyId).toBe(before.keyId);
    expect(rotation.publicKeys.map((k) => k.keyId).sort()).toEqual([before.keyId, rotation.keyId].sort());
    expect((await readdir(publicKeyDir)).sort()).toEqual([`${before.keyId}.pem`, `${rotation.keyId}.pem`].sort());
    const listed = await api.request('GET', 'backups/token-keys', { token: admin });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.keys.map((k: { keyId: string }) => k.keyId).sort()).toEqual([before.keyId, rotation.keyId].sort());
    expect((await issue()).keyId).toBe(before.keyId);

    // From the announced moment the API (which re-reads keys.json itself) signs with the new key.
    await until('the new key signs', async () => (await issue()).keyId === rotation.keyId);
    const after = await issue();
    expect(await backupServerAccepts(after.token)).toMatchObject({ ok: true });
    // A token signed with the old key before the switch is still accepted during the overlap.
    expect(await backupServerAccepts(before.token)).toMatchObject({ ok: true });

    // A backup server that was not given the new key would refuse the new tokens: why the announce comes first.
    const oldOnly = (await loadBackupTokenPublicKeys(publicKeyDir)).filter((k) => k.keyId === before.keyId);
    expect(verifyBackupToken(after.token, oldOnly, new Date())).toMatchObject({ ok: false, reason: 'unknown_key' });

    // The old key retired at the activation; once its last tokens expired (API_BACKUP_TOKEN_SECONDS later, not waited here)
    // rewriting the directory drops its file: its tokens are refused, new ones accepted.
    expect(await writeBackupTokenPublicKeys(store, publicKeyDir)).toEqual([rotation.keyId]);
    expect(await readdir(publicKeyDir)).toEqual([`${rotation.keyId}.pem`]);
    expect(await backupServerAccepts(before.token)).toMatchObject({ ok: false, reason: 'unknown_key' });
    expect(await backupServerAccepts(after.token)).toMatchObject({ ok: true });
  });

  it('the command (api/src/keys/rotate-key.ts) refuses other purposes and bad hours, and writes the public keys', async () => {
    const env = {
      PATH: process.env.PATH!,
      DB_URL: api.config.DB_URL,
      REDIS_URL: api.config.REDIS_URL,
      API_SECRET_KEY: api.config.API_SECRET_KEY,
      API_KEY_STORE_DIR: api.config.API_KEY_STORE_DIR,
    };
    const run = (args: string[]) => execa(process.execPath, [CLI, ...args], { env, extendEnv: false, reject: false });
    const other = await run(['command-signing', '--activate-after-hours', '1']);
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toContain('POST keys/command-signing/rotate');
    const negative = await run(['backup-tokens', '--activate-after-hours=-1']);
    expect(negative.exitCode).toBe(2);
    expect(negative.stderr).toContain('activate-after-hours');
    const dir = join(publicKeyDir, 'cli');
    const listed = await run(['backup-tokens', '--public-key-dir', dir]);
    expect(listed.exitCode, listed.stderr).toBe(0);
    const answer = JSON.parse(listed.stdout) as { written: string[] };
    const valid = await api.app.get(KeyStore).validPublicKeys('backup-tokens');
    expect(answer.written).toEqual(valid.map((k) => k.keyId));
    expect(await readdir(dir)).toEqual(valid.map((k) => `${k.keyId}.pem`));
  });
});
