import { describe, expect, it } from 'vitest';
import { boundDetails } from './audit-bounds.js';
import { isSecretKey } from './audit-redaction.js';

/** Every field of contracts/src (auth.ts, users.ts, agent.ts, devices.ts) whose value is a secret, plus headers and common spellings. */
const SECRETS = [
  'password',
  'currentPassword',
  'newPassword',
  'mfaToken',
  'code',
  'recoveryCode',
  'recoveryCodes',
  'refreshToken',
  'accessToken',
  'secret',
  'otpauthUri',
  'claimCode',
  'installationSalt',
  'deviceCredential',
  'totpCode',
  'otpCode',
  'mfaCode',
  'passcode',
  'authorization',
  'Authorization',
  'cookie',
  'set-cookie',
  'privateKey',
  'wgPrivateKey',
  'apiKey',
  'APIKey',
  'x-api-key',
  'DB_PASSWORD',
  'client_secret',
  'webhookSecret',
  'sessionToken',
  'passwordCiphertext',
  'ciphertext',
];

/** Ordinary fields that merely contain `code`, `otp`, `pass`, `token`, `secret`, `key`…. */
const NOT_SECRETS = [
  'claimCodeId',
  'replacedCodes',
  'exitCode',
  'errorCode',
  'statusCode',
  'codeId',
  'passwordChangedAt',
  'tokenExpiresAt',
  'otpEnabled',
  'totpEnabled',
  'totpSetupRequired',
  'passed',
  'compass',
  'hubPublicKey',
  'commandSigningPublicKey',
  'wgPublicKey',
  'sshHostKey',
  'keysPerObject',
  'secretRotatedAt',
  'overlayAddress',
  'route',
];

describe('audit redaction by whole key name', () => {
  it.each(SECRETS)('redacts %s', (key) => {
    expect(isSecretKey(key)).toBe(true);
    expect(boundDetails({ [key]: 'v', nested: { [key]: 'v' } })).toEqual({ [key]: '[redacted]', nested: { [key]: '[redacted]' } });
  });

  it.each(NOT_SECRETS)('keeps %s', (key) => {
    expect(isSecretKey(key)).toBe(false);
    expect(boundDetails({ [key]: 'v', nested: { [key]: 'v' } })).toEqual({ [key]: 'v', nested: { [key]: 'v' } });
  });
});
