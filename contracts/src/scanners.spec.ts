import { describe, expect, it } from 'vitest';
import { feedVersionTime } from './scanners.js';

describe('feed version times', () => {
  it('reads YYYYMMDDhhmm as UTC and nothing else', () => {
    expect(feedVersionTime('202612030415')).toBe('2026-12-03T04:15:00.000Z');
    for (const bad of [null, undefined, '', '20261203', '202613030415', '202602300000', '202612032460', ' 202612030415', '2026120304150'])
      expect(feedVersionTime(bad), String(bad)).toBeNull();
  });
});
