import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from './errors.js';
import { parseWireGuardKey, readWireGuardPrivateKey, wireGuardPublicKey } from './wg-key.js';

const PRIVATE = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const PUBLIC = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';

describe('wireGuardPublicKey', () => {
  it('derives the public key (test vector)', () => {
    expect(wireGuardPublicKey(PRIVATE)).toBe(PUBLIC);
    expect(wireGuardPublicKey(`${PRIVATE}\n`)).toBe(PUBLIC);
  });

  // wireguard-tools is a product package that `npm test` installs: a missing `wg` fails here.
  it('agrees with `wg pubkey` on random keys', () => {
    for (let i = 0; i < 5; i++) {
      const raw = randomBytes(32);
      // wg genkey clamps; X25519 clamps on use, so any 32 bytes are a valid private key.
      const privateKey = raw.toString('base64');
      expect(wireGuardPublicKey(privateKey)).toBe(execFileSync('wg', ['pubkey'], { input: privateKey, encoding: 'utf8' }).trim());
    }
  });

  it('rejects what is not a key', () => {
    for (const bad of ['', 'abc', `${PRIVATE.slice(0, -2)}==`, PRIVATE.replace('=', 'A'), `${PRIVATE} x`]) {
      expect(() => parseWireGuardKey(bad)).toThrow(/not a WireGuard key/);
    }
  });

  it('reads key files, reporting problems without the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xspectre-wgkey-'));
    try {
      await writeFile(join(dir, 'ok.key'), `${PRIVATE}\n`, { mode: 0o600 });
      expect(await readWireGuardPrivateKey(join(dir, 'ok.key'))).toBe(PRIVATE);
      await writeFile(join(dir, 'bad.key'), 'nonsense');
      await expect(readWireGuardPrivateKey(join(dir, 'bad.key'))).rejects.toMatchObject({ exitCode: ExitCode.LOCAL_ERROR });
      await expect(readWireGuardPrivateKey(join(dir, 'missing.key'))).rejects.toMatchObject({
        exitCode: ExitCode.LOCAL_ERROR,
        message: /ENOENT/,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
