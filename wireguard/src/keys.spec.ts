import { describe, expect, it } from 'vitest';
import { generateKeyPair, isWireGuardKey, publicKeyFromPrivate } from './index.js';

describe('keys', () => {
  it('derives the public key like `wg pubkey` (example from the WireGuard docs)', () => {
    expect(publicKeyFromPrivate('yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=')).toBe('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=');
  });

  it('generates distinct valid pairs whose public half matches the private half', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(isWireGuardKey(a.privateKey)).toBe(true);
    expect(isWireGuardKey(a.publicKey)).toBe(true);
    expect(a.privateKey).not.toBe(b.privateKey);
    expect(publicKeyFromPrivate(a.privateKey)).toBe(a.publicKey);
  });

  it('recognizes only base64 of exactly 32 bytes', () => {
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=')).toBe(true);
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw')).toBe(false);
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykx=')).toBe(false); // non-zero padding bits
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8yk_=')).toBe(false);
    expect(isWireGuardKey(Buffer.alloc(33).toString('base64'))).toBe(false);
    expect(() => publicKeyFromPrivate('not a key')).toThrow(TypeError);
  });
});
