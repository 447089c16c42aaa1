/** Loaded when first used: the agent carries age's code only once a backup or restore needs it. */
const age = () => import('age-encryption');

/**
 * age (X25519) encryption of a repository password, the format the real `age` tool reads:
 * - escrow: the password encrypted to the offline recovery key (a Super Admin decrypts it
 *   offline with `age -d -i <identity file>`), so the API holds only ciphertext;
 * - transfer: a password encrypted to this device's transfer key (transfer-key.ts), to restore
 *   another device's backups onto this one.
 * The plaintext never leaves these functions except to a 0600 file (backup-action.ts).
 */
export async function encryptToRecipient(plaintext: string, recipient: string): Promise<string> {
  const { Encrypter, armor } = await age();
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  return armor.encode(await encrypter.encrypt(plaintext));
}

/** Decrypts an ASCII-armored age file with an identity (`AGE-SECRET-KEY-1…`). Throws when it is not for that identity. */
export async function decryptWithIdentity(armored: string, identity: string): Promise<string> {
  const { Decrypter, armor } = await age();
  const decrypter = new Decrypter();
  decrypter.addIdentity(identity);
  return decrypter.decrypt(armor.decode(armored), 'text');
}
