// Curve25519 public keys a WireGuard peer can never complete a handshake with.

/**
 * The u-coordinates of small order (libsodium's blacklist, crypto_scalarmult/curve25519/ref10):
 * 0 (order 4), 1 (order 1), the two points of order 8, and p-1 (order 2), p and p+1 (the
 * non-canonical encodings of 0 and 1). X25519 with any private key gives the all-zero secret.
 */
const SMALL_ORDER_POINTS_HEX = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
] as const;

const SMALL_ORDER_POINTS = SMALL_ORDER_POINTS_HEX.map((hex) => Uint8Array.from(hex.match(/../g)!, (byte) => parseInt(byte, 16)));

function base64Bytes(text: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * True when `key` (base64 of 32 bytes) is one of the small-order encodings, with or without the
 * top bit set (X25519 ignores that bit, RFC 7748 §5). Pure; false for anything not 32 bytes.
 */
export function isSmallOrderWireGuardKey(key: string): boolean {
  const bytes = base64Bytes(key);
  if (bytes?.length !== 32) return false;
  return SMALL_ORDER_POINTS.some((point) => point.every((byte, i) => byte === (i === 31 ? bytes[i]! & 0x7f : bytes[i])));
}
