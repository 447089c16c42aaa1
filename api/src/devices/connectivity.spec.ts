import { describe, expect, it } from 'vitest';
import { connectivityOf } from './connectivity.js';

describe('connectivity', () => {
  const now = new Date('2026-11-23T12:00:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000);

  it('is online within three intervals, offline after, never_seen without a heartbeat', () => {
    expect(connectivityOf('active', ago(89), 30, now)).toBe('online');
    expect(connectivityOf('active', ago(90), 30, now)).toBe('online');
    expect(connectivityOf('active', ago(91), 30, now)).toBe('offline');
    expect(connectivityOf('active', null, 30, now)).toBe('never_seen');
    expect(connectivityOf('pending', null, 30, now)).toBe('never_seen');
  });

  it('a revoked or retired device is never online', () => {
    expect(connectivityOf('revoked', ago(1), 30, now)).toBe('offline');
    expect(connectivityOf('retired', ago(1), 30, now)).toBe('offline');
  });
});
