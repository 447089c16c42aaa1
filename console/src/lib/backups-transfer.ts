import { Encrypter, armor } from 'age-encryption';

/**
 * Restoring another device's backups onto new hardware: the repository password a Super Admin
 * decrypted offline is encrypted here, in the browser, to the replacement device's transfer key
 * (an age X25519 recipient), so the API only ever holds the ciphertext. Nothing here keeps or logs
 * the password.
 */
export async function encryptToTransferKey(recipient: string, password: string): Promise<string> {
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  return armor.encode(await encrypter.encrypt(password));
}
