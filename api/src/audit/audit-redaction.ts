/**
 * Which keys of an audit row's details name secrets. Matched by whole key name, never by
 * substring: `claimCodeId`, `replacedCodes` or `exitCode` are ordinary fields, `code` (the TOTP
 * code of contracts/src/auth.ts) and `newPassword` are not. Case does not matter; a key is split
 * into words (camelCase, snake_case, kebab-case) so `DB_PASSWORD` or `X-Api-Key` match too.
 */

/** Whole names (words joined, lower case): every secret field of contracts/src request and answer schemas, plus headers. */
const SECRET_NAMES = new Set([
  'password',
  'passphrase',
  'currentpassword',
  'newpassword',
  'secret',
  'token',
  'accesstoken',
  'refreshtoken',
  'mfatoken',
  'idtoken',
  'jwt',
  'code',
  'totpcode',
  'totp',
  'otpcode',
  'mfacode',
  'passcode',
  'otp',
  'otpauthuri',
  'recoverycode',
  'recoverycodes',
  'claimcode',
  'devicecredential',
  'credential',
  'credentials',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'privatekey',
  'installationsalt',
  'salt',
  'apikey',
]);

/**
 * Last word of a key that makes it a secret: `*Password`, `*Secret`, `*Token`, `*Credential`, `*Salt`, `*Cookie`; and
 * `*Ciphertext` (a repository password encrypted to a key, contracts/src/backups.ts): not the secret itself, kept out all the same.
 */
const SECRET_LAST_WORD = new Set([
  'password',
  'passphrase',
  'secret',
  'token',
  'credential',
  'credentials',
  'salt',
  'cookie',
  'ciphertext',
]);
/** Last two words that make a key a secret: `*PrivateKey`, `*ApiKey`. */
const SECRET_LAST_TWO_WORDS = new Set(['private key', 'api key']);

function words(key: string): string[] {
  return key
    .split(/[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/)
    .filter((w) => w.length > 0)
    .map((w) => w.toLowerCase());
}

export function isSecretKey(key: string): boolean {
  const w = words(key);
  if (w.length === 0) return false;
  if (SECRET_NAMES.has(w.join(''))) return true;
  if (SECRET_LAST_WORD.has(w[w.length - 1]!)) return true;
  return w.length >= 2 && SECRET_LAST_TWO_WORDS.has(`${w[w.length - 2]} ${w[w.length - 1]}`);
}
