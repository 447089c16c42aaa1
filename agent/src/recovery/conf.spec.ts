import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { commandKeyId } from '@xspectre/contracts/command-signature';
import { parseCommandKeys, parseRecoveryConf, RecoveryConfError } from './conf.js';

const secretKey = randomBytes(32).toString('base64');
const credential = `xsr1.11111111-2222-4333-8444-555555555555.${randomBytes(32).toString('base64url')}`;
const signing = generateKeyPairSync('ed25519').publicKey;
const keyEntry = `${commandKeyId(signing)}:${signing.export({ format: 'der', type: 'spki' }).toString('base64')}`;

function conf(overrides: Record<string, string | undefined> = {}): string {
  const values: Record<string, string | undefined> = {
    XS_RECOVERY_CONF_VERSION: '1',
    XS_DEVICE_ID: '0b7e0e4c-43c5-4a57-9a53-0c1b5b6f9a10',
    XS_MEDIUM_ID: '11111111-2222-4333-8444-555555555555',
    XS_API_URL: 'http://10.10.0.1:3000/api/v1',
    XS_CREDENTIAL: credential,
    XS_WG_PRIVATE_KEY: secretKey,
    XS_WG_ADDRESS: '10.10.0.240/32',
    XS_WG_HUB_PUBLIC_KEY: randomBytes(32).toString('base64'),
    XS_WG_HUB_ENDPOINT: 'hub.example.com:51820',
    XS_WG_ALLOWED_IPS: '10.10.0.0/16',
    XS_COMMAND_KEYS: keyEntry,
    ...overrides,
  };
  return Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

const failure = (text: string): string => {
  try {
    parseRecoveryConf(text);
  } catch (err) {
    expect(err).toBeInstanceOf(RecoveryConfError);
    return (err as Error).message;
  }
  throw new Error('expected a RecoveryConfError');
};

describe('parseRecoveryConf', () => {
  it('reads KEY=VALUE lines, comments, blanks and quoted values', () => {
    const parsed = parseRecoveryConf(`# written by the API\n\n${conf({ XS_DEVICE_NAME: '"Scanner Berlin 1"' })}\r\n`);
    expect(parsed.XS_DEVICE_ID).toBe('0b7e0e4c-43c5-4a57-9a53-0c1b5b6f9a10');
    expect(parsed.XS_DEVICE_NAME).toBe('Scanner Berlin 1');
    expect(parsed.XS_WG_PRIVATE_KEY).toBe(secretKey);
  });

  it('never evaluates shell syntax: a command substitution is just an invalid value', () => {
    const message = failure(conf({ XS_WG_HUB_ENDPOINT: '$(reboot):51820 ; rm -rf /' }));
    expect(message).toContain('XS_WG_HUB_ENDPOINT: invalid');
    expect(message).not.toContain('reboot');
  });

  it('names missing and invalid keys without printing any value', () => {
    const message = failure(conf({ XS_CREDENTIAL: undefined, XS_WG_PRIVATE_KEY: `${secretKey}x` }));
    expect(message).toContain('XS_CREDENTIAL: missing');
    expect(message).toContain('XS_WG_PRIVATE_KEY: invalid');
    expect(message).not.toContain(secretKey);
  });

  it('refuses unknown keys, duplicates, lines that are not KEY=VALUE, NUL bytes and huge files', () => {
    expect(failure(`${conf()}\nXS_EXTRA=1`)).toContain('unknown key(s) XS_EXTRA');
    expect(failure(`${conf()}\nXS_DEVICE_ID=0b7e0e4c-43c5-4a57-9a53-0c1b5b6f9a10`)).toContain('XS_DEVICE_ID is set twice');
    expect(failure(`${conf()}\nexport PATH=/tmp`)).toMatch(/line 12: not a KEY=VALUE line/);
    expect(failure(`${conf()}\n=${secretKey}`)).not.toContain(secretKey);
    expect(failure(`${conf()}\0`)).toContain('NUL');
    expect(failure(`# ${'x'.repeat(70_000)}\n${conf()}`)).toContain('larger than');
    expect(failure(`${conf()}\n__proto__=1`)).toContain('not a KEY=VALUE line');
    expect(failure(conf({ XS_RECOVERY_CONF_VERSION: '2' }))).toContain('XS_RECOVERY_CONF_VERSION: invalid');
  });
});

describe('parseCommandKeys', () => {
  it('turns keyId:base64(SPKI DER) into pinned PEM keys', () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    const keys = parseCommandKeys(
      `${keyEntry}, ${commandKeyId(other)}:${other.export({ format: 'der', type: 'spki' }).toString('base64')}`,
    );
    expect(keys.map((k) => k.keyId)).toEqual([commandKeyId(signing), commandKeyId(other)]);
    expect(keys[0]?.publicKeyPem).toContain('BEGIN PUBLIC KEY');
  });

  it('refuses a wrong id, a non-Ed25519 key and garbage', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => parseCommandKeys(`0000000000000000:${keyEntry.split(':')[1]}`)).toThrow(/fingerprint/);
    expect(() => parseCommandKeys(`0000000000000000:${rsa.export({ format: 'der', type: 'spki' }).toString('base64')}`)).toThrow(/Ed25519/);
    expect(() => parseCommandKeys('abc')).toThrow(/keyId:base64/);
    expect(() => parseCommandKeys('0000000000000000:AAAA')).toThrow(/SPKI/);
  });
});
