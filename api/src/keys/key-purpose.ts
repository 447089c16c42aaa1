/**
 * What a key is for; one sub-directory of API_KEY_STORE_DIR each: commands to devices, the
 * backup server's repository tokens (backup-server/ holds only the public half), and the SAML
 * service provider's key (it signs AuthnRequests and decrypts encrypted assertions; its
 * certificate is derived from it, api/src/sso/saml/sp-certificate.ts), and the SSH user certificate
 * authority that signs terminal and file sessions' short-lived certificates (api/src/ssh).
 */
export type KeyPurpose = 'command-signing' | 'backup-tokens' | 'saml-sp' | 'ssh-user-ca';

export const KEY_PURPOSES: readonly KeyPurpose[] = ['command-signing', 'backup-tokens', 'saml-sp', 'ssh-user-ca'];

/** The asymmetric key type every key of a purpose must have (SAML's XML encryption needs RSA). */
export const KEY_TYPE: Record<KeyPurpose, 'ed25519' | 'rsa'> = {
  'command-signing': 'ed25519',
  'backup-tokens': 'ed25519',
  'saml-sp': 'rsa',
  'ssh-user-ca': 'ed25519',
};
