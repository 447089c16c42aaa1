import bcrypt from 'bcrypt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '../config/config.js';
import { PasswordHasher } from './password-hasher.js';

/**
 * An unknown email must cost what a wrong password costs: one compare at the configured cost,
 * and no hash on top (a dummy hash made at the first unknown email would make that answer slower).
 */
describe('PasswordHasher', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prepares the dummy hash at construction, at the configured cost, and only compares for an unknown account', async () => {
    const hashSpy = vi.spyOn(bcrypt, 'hash');
    const compareSpy = vi.spyOn(bcrypt, 'compare');
    const hasher = new PasswordHasher({ API_BCRYPT_COST: 4 } as AppConfig);
    expect(hashSpy).toHaveBeenCalledTimes(1);
    expect(await hasher.verify('a-guessed-password', null)).toBe(false);
    expect(await hasher.verify('another-guess', null)).toBe(false);
    expect(hashSpy).toHaveBeenCalledTimes(1);
    expect(compareSpy).toHaveBeenCalledTimes(2);
    const against = compareSpy.mock.calls[0]![1] as string;
    expect(against).toMatch(/^\$2[aby]\$04\$/);
  });

  it('verifies a real hash and refuses passwords bcrypt would truncate', async () => {
    const hasher = new PasswordHasher({ API_BCRYPT_COST: 4 } as AppConfig);
    const hash = await hasher.hash('a-real-password-123');
    expect(await hasher.verify('a-real-password-123', hash)).toBe(true);
    expect(await hasher.verify('wrong', hash)).toBe(false);
    expect(await hasher.verify('x'.repeat(100), hash)).toBe(false);
  });
});
