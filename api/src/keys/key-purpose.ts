/**
 * What a key signs; one sub-directory of API_KEY_STORE_DIR each. Only command signing today;
 * the SSH certificate authority and backup tokens get their own purposes when they are built.
 */
export type KeyPurpose = 'command-signing';

export const KEY_PURPOSES: readonly KeyPurpose[] = ['command-signing'];

/** The asymmetric key type every key of a purpose must have. */
export const KEY_TYPE: Record<KeyPurpose, 'ed25519'> = { 'command-signing': 'ed25519' };
