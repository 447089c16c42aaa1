import { describe, expect, it } from 'vitest';
import { QueryFailedError } from 'typeorm';
import { AppError } from '../common/errors/app-error.js';
import { isConcurrencyConflict, mapConcurrencyConflict } from './pg-errors.js';

const failed = (code: string) => new QueryFailedError('UPDATE', [], Object.assign(new Error(code), { code }));

describe('mapConcurrencyConflict', () => {
  it('answers a deadlock or serialization failure with CONCURRENT_CHANGE (409), other errors unchanged', async () => {
    for (const code of ['40P01', '40001']) {
      expect(isConcurrencyConflict(failed(code))).toBe(true);
      const error = await mapConcurrencyConflict(() => Promise.reject(failed(code))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect([(error as AppError).code, (error as AppError).status]).toEqual(['CONCURRENT_CHANGE', 409]);
    }
    const unique = failed('23505');
    expect(isConcurrencyConflict(unique)).toBe(false);
    await expect(mapConcurrencyConflict(() => Promise.reject(unique))).rejects.toBe(unique);
    await expect(mapConcurrencyConflict(() => Promise.resolve(7))).resolves.toBe(7);
  });
});
