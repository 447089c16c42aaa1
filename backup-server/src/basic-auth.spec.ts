import { describe, expect, it } from 'vitest';
import { parseBasicAuth } from './basic-auth.js';

const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

describe('parseBasicAuth', () => {
  it('splits user and password at the first colon', () => {
    expect(parseBasicAuth(basic('dev:a.b.c'))).toEqual({ user: 'dev', password: 'a.b.c' });
    expect(parseBasicAuth(basic('dev:x:y'))).toEqual({ user: 'dev', password: 'x:y' });
    expect(parseBasicAuth(`basic ${Buffer.from('d:p').toString('base64')}`)).toEqual({ user: 'd', password: 'p' });
  });

  it('answers undefined for anything else', () => {
    for (const h of [
      undefined,
      '',
      'Bearer abc',
      'Basic',
      'Basic !!!',
      basic('nocolon'),
      basic(':empty-user'),
      `Basic ${'A'.repeat(5000)}`,
    ]) {
      expect(parseBasicAuth(h), String(h)).toBeUndefined();
    }
  });
});
