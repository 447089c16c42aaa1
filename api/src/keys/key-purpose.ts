/**
 * What a key signs; one sub-directory of API_KEY_STORE_DIR each: commands to devices, and the
 * backup server's repository tokens (backup-server/ holds only the public half). The SSH
 * certificate authority gets its own purpose when it is built.
 */
export type KeyPurpose = 'command-signing' | 'backup-tokens';

export const KEY_PURPOSES: readonly KeyPurpose[] = ['command-signing', 'backup-tokens'];

/** The asymmetric key type every key of a purpose must have. */
export const KEY_TYPE: Record<KeyPurpose, 'ed25519'> = { 'command-signing': 'ed25519', 'backup-tokens': 'ed25519' };
