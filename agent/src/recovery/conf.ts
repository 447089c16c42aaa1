import { createPublicKey } from 'node:crypto';
import { RecoveryConfSchema, type RecoveryConf } from '@xspectre/contracts';
import { commandKeyId, type PinnedCommandKey } from '@xspectre/contracts/command-signature';

/**
 * `recovery.conf` on the stick's CONFIG partition (recovery-usb/README.md; the stick's /init
 * copies its `KEY=VALUE` lines to `XS_RECOVERY_CONFIG`). Read as data, never evaluated by a
 * shell: a line is `KEY=VALUE` (KEY upper case), `# comment` or blank; the value is the rest of
 * the line, one optional pair of surrounding quotes removed. Errors name keys and line numbers,
 * never values (they hold the WireGuard private key and the credential).
 */
export const MAX_CONF_BYTES = 64 * 1024;
const KEY = /^[A-Z][A-Z0-9_]{0,63}$/;

export class RecoveryConfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoveryConfError';
  }
}

export function parseRecoveryConf(text: string): RecoveryConf {
  if (Buffer.byteLength(text) > MAX_CONF_BYTES) throw new RecoveryConfError(`recovery.conf is larger than ${MAX_CONF_BYTES} bytes`);
  if (text.includes('\0')) throw new RecoveryConfError('recovery.conf contains a NUL byte');
  const values: Record<string, string> = Object.create(null) as Record<string, string>;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq) : '';
    if (!KEY.test(key)) throw new RecoveryConfError(`recovery.conf line ${index + 1}: not a KEY=VALUE line`);
    if (Object.hasOwn(values, key)) throw new RecoveryConfError(`recovery.conf: ${key} is set twice`);
    let value = line.slice(eq + 1);
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2] ?? '';
    values[key] = value;
  });
  const parsed = RecoveryConfSchema.safeParse({ ...values });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.length > 0 ? String(issue.path[0]) : '(file)';
      if (issue.code === 'unrecognized_keys') return `unknown key(s) ${issue.keys.filter((k) => KEY.test(k)).join(', ')}`;
      // The message of a regex or format check describes the expected form, never the value.
      return `${key}: ${issue.code === 'invalid_type' && values[key] === undefined ? 'missing' : 'invalid'}`;
    });
    throw new RecoveryConfError(`recovery.conf: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * `XS_COMMAND_KEYS`: comma-separated `keyId:base64(SPKI DER)` → the pinned keys the agent's
 * verification takes. Each key must be Ed25519 and its id must be its fingerprint.
 */
export function parseCommandKeys(text: string): PinnedCommandKey[] {
  const keys: PinnedCommandKey[] = [];
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length > 16) throw new RecoveryConfError('XS_COMMAND_KEYS: more than 16 keys');
  parts.forEach((part, index) => {
    const match = /^([0-9a-f]{16}):([A-Za-z0-9+/]+={0,2})$/.exec(part);
    if (!match) throw new RecoveryConfError(`XS_COMMAND_KEYS: key ${index + 1} is not keyId:base64`);
    const [, keyId, b64] = match as unknown as [string, string, string];
    let key;
    try {
      key = createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' });
    } catch {
      throw new RecoveryConfError(`XS_COMMAND_KEYS: key ${index + 1} is not an SPKI public key`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new RecoveryConfError(`XS_COMMAND_KEYS: key ${index + 1} is not Ed25519`);
    if (commandKeyId(key) !== keyId) throw new RecoveryConfError(`XS_COMMAND_KEYS: key ${index + 1}'s id is not its fingerprint`);
    keys.push({ keyId, publicKeyPem: key.export({ format: 'pem', type: 'spki' }).toString() });
  });
  return keys;
}
