import { describe, expect, it } from 'vitest';
import { safeNext, signInUrl } from './safe-next';

describe('safeNext', () => {
  it('keeps paths on this console', () => {
    expect(safeNext('/devices?status=active')).toBe('/devices?status=active');
    expect(safeNext('/devices/123')).toBe('/devices/123');
  });

  it('refuses anything that could leave the console or loop', () => {
    for (const bad of [null, undefined, '', 'https://evil.example', '//evil.example/x', '/\\evil.example', 'devices', '/sign-in?next=/']) {
      expect(safeNext(bad)).toBe('/');
    }
  });

  it('builds the sign-in link with where to return', () => {
    expect(signInUrl('/devices?q=a b', true)).toBe('/sign-in?next=%2Fdevices%3Fq%3Da+b&expired=1');
    expect(signInUrl('//evil', false)).toBe('/sign-in?next=%2F');
  });
});
