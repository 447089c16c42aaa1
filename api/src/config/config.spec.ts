import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const valid = { DB_URL: 'postgres://u@h:5432/d', REDIS_URL: 'redis://h:6379', API_SECRET_KEY: 'x'.repeat(40) };

describe('config', () => {
  it('applies defaults and freezes the result', () => {
    const config = loadConfig(valid);
    expect(config.API_PORT).toBe(3000);
    expect(config.API_BCRYPT_COST).toBe(12);
    expect(config.API_COOKIE_SECURE).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every bad key at once', () => {
    try {
      loadConfig({ DB_URL: 'mysql://x', API_PORT: '99999', API_BOOTSTRAP_ADMIN_EMAIL: 'a@b.c' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as ConfigError).problems.join('\n');
      for (const key of ['DB_URL', 'REDIS_URL', 'API_SECRET_KEY', 'API_PORT']) expect(text).toContain(key);
    }
  });

  it('needs both bootstrap admin settings or neither, and a sane lockout policy', () => {
    expect(() => loadConfig({ ...valid, API_BOOTSTRAP_ADMIN_EMAIL: 'a@b.c' })).toThrow(/API_BOOTSTRAP_ADMIN_PASSWORD/);
    expect(() => loadConfig({ ...valid, API_LOGIN_BACKOFF_AFTER: '8', API_LOGIN_LOCK_AFTER: '5' })).toThrow(/API_LOGIN_LOCK_AFTER/);
  });

  it('refuses to believe every X-Forwarded-For (trust proxy true): the proxies must be listed', () => {
    expect(() => loadConfig({ ...valid, API_TRUST_PROXY: 'true' })).toThrow(/API_TRUST_PROXY/);
    expect(loadConfig({ ...valid, API_TRUST_PROXY: '127.0.0.1,10.0.0.0/8' }).API_TRUST_PROXY).toBe('127.0.0.1,10.0.0.0/8');
  });
});
