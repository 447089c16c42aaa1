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
  return armor.encode(await readAllBytes(await encrypter.encrypt(streamOf(new TextEncoder().encode(plaintext)))));
}

/** Decrypts an ASCII-armored age file with an identity (`AGE-SECRET-KEY-1…`). Throws when it is not for that identity. */
export async function decryptWithIdentity(armored: string, identity: string): Promise<string> {
  const { Decrypter, armor } = await age();
  const decrypter = new Decrypter();
  decrypter.addIdentity(identity);
  const bytes = await readAllBytes(await decrypter.decrypt(streamOf(armor.decode(armored))));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

/*
 * Streams in and out, read here: given bytes, age-encryption reads its output with
 * `new Response(stream)`, which loads Node's fetch implementation, and that needs WebAssembly,
 * which the agent's executable runs without (--lite-mode, see ../builtins.ts).
 */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

async function readAllBytes(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
