import { createHash } from 'node:crypto';
import { deriveKeys, unseal, type DerivedKeys } from './secrets.js';

/**
 * The derived keys of API_SECRET_KEY and, during a rotation, of API_SECRET_KEY_PREVIOUS: signing,
 * sealing and writing use `current` only; verifying, unsealing and looking up try `current`, then
 * `previous` (api/README.md, "Rotating secrets").
 */
export interface Keyring {
  current: DerivedKeys;
  previous: DerivedKeys | null;
}

export function keyringOf(config: { API_SECRET_KEY: string; API_SECRET_KEY_PREVIOUS?: string | undefined }): Keyring {
  return {
    current: deriveKeys(config.API_SECRET_KEY),
    previous: config.API_SECRET_KEY_PREVIOUS ? deriveKeys(config.API_SECRET_KEY_PREVIOUS) : null,
  };
}

/** One purpose's keys, current first: what verification and lookup try, in order. */
export function keysFor<P extends keyof DerivedKeys>(ring: Keyring, purpose: P): Array<DerivedKeys[P]> {
  return ring.previous ? [ring.current[purpose], ring.previous[purpose]] : [ring.current[purpose]];
}

/** Names a derived key without revealing it: the first 8 bytes of its SHA-256, hex. */
export function keyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Unseals with the first key that opens the value; `stale` says it was not the first (current)
 * one, so the value should be sealed again. Throws the current key's error when none opens it,
 * so callers keep their existing clear messages.
 */
export function unsealWithAny(keys: readonly Buffer[], sealed: string): { plaintext: string; stale: boolean } {
  let first: unknown;
  for (const [index, key] of keys.entries()) {
    try {
      return { plaintext: unseal(key, sealed), stale: index > 0 };
    } catch (error) {
      first ??= error;
    }
  }
  throw first;
}
