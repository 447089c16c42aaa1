/**
 * The agent's executable runs Node.js with --lite-mode (no WebAssembly; see src/builtins.ts):
 * the escrow and transfer-key decryption must work there. age-encryption read its own output
 * through `new Response()`, which needs WebAssembly, and crashed the agent in the lab.
 */
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const agentDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const SCRIPT = `
import { encryptToRecipient, decryptWithIdentity } from './dist/backups/escrow.js';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
const identity = await generateX25519Identity();
const armored = await encryptToRecipient('a repository password', await identityToRecipient(identity));
process.stdout.write(JSON.stringify({ head: armored.split('\\n')[0], plain: await decryptWithIdentity(armored, identity) }));
`;

describe('escrow under --lite-mode', () => {
  it('encrypts and decrypts without WebAssembly', () => {
    const out = execFileSync(process.execPath, ['--lite-mode', '--input-type=module', '-e', SCRIPT], {
      cwd: agentDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(JSON.parse(out)).toEqual({ head: '-----BEGIN AGE ENCRYPTED FILE-----', plain: 'a repository password' });
  });
});
