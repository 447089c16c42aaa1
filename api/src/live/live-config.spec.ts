import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/config.js';

const base = { DB_URL: 'postgres://u@127.0.0.1:5432/db', REDIS_URL: 'redis://127.0.0.1:6379', API_SECRET_KEY: 'x'.repeat(40) };

describe('live settings', () => {
  it('allows the local console by default', () => {
    const config = loadConfig(base);
    expect(config.API_CONSOLE_ORIGINS).toEqual(['http://localhost:3001', 'http://127.0.0.1:3001']);
    expect(config.API_LIVE_SESSION_RECHECK_SECONDS).toBe(60);
  });

  it('reads a comma-separated list of origins', () => {
    expect(
      loadConfig({ ...base, API_CONSOLE_ORIGINS: ' https://console.example.com , http://10.0.0.5:8080,' }).API_CONSOLE_ORIGINS,
    ).toEqual(['https://console.example.com', 'http://10.0.0.5:8080']);
    expect(loadConfig({ ...base, API_CONSOLE_ORIGINS: '' }).API_CONSOLE_ORIGINS).toEqual([]);
  });

  it.each([
    'https://console.example.com/',
    'https://console.example.com/app',
    'console.example.com',
    'ftp://x.example',
    'https://*.example.com',
    'HTTPS://Console.example.com',
    'https://x.example:443',
  ])('refuses %j, naming the key', (origin) => {
    expect(() => loadConfig({ ...base, API_CONSOLE_ORIGINS: origin })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, API_CONSOLE_ORIGINS: origin })).toThrow(/API_CONSOLE_ORIGINS/);
  });

  it('refuses a re-check interval of zero', () => {
    expect(() => loadConfig({ ...base, API_LIVE_SESSION_RECHECK_SECONDS: '0' })).toThrow(/API_LIVE_SESSION_RECHECK_SECONDS/);
  });
});
