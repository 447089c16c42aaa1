import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKeys } from '../src/common/crypto/secrets.js';
import { REDIS } from '../src/redis/redis.token.js';
import { TEST_PASSWORD, TestApi, uniqueEmail, type Reply } from './support/harness.js';

/** Login answers must not tell an existing account from an unknown email. */
describe('auth: no account enumeration', () => {
  let api: TestApi;

  beforeAll(async () => {
    // Backoff from the 2nd failure, lock at the 4th. The backoff is long (a minute, then two), so
    // a slow machine never outlives one between two attempts; the test ends each backoff itself.
    api = await TestApi.start({ API_LOGIN_BACKOFF_AFTER: '2', API_LOGIN_LOCK_AFTER: '4', API_LOGIN_BACKOFF_BASE_MS: '60000' });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('answers wrong passwords for an existing account and an unknown email alike: backoff, then lock', async () => {
    const admin = await api.adminToken();
    const existing = (await api.createUser(admin, 'soc_operator')).email;
    const unknown = uniqueEmail('nobody');
    const waits: number[] = [];
    // The backoff's remaining seconds count down from each email's own last failure, made one
    // request apart: on a busy machine they can round to different seconds. The text is compared
    // without the number; the numbers are checked to lie within the backoff and a second apart.
    const shape = (r: Reply) => {
      const detail = r.body?.detail as string | undefined;
      const wait = detail && /try again in (\d+) s/.exec(detail);
      if (wait) waits.push(Number(wait[1]));
      return {
        status: r.status,
        code: r.body?.code as string | undefined,
        detail: detail?.replace(/try again in \d+ s/, 'try again in N s'),
        retryAfter: r.headers.has('retry-after'),
      };
    };
    const answers: Record<'existing' | 'unknown', Array<ReturnType<typeof shape>>> = { existing: [], unknown: [] };
    for (let attempt = 0; attempt < 9; attempt++) {
      // Last, the right password of the locked account: still refused, like any guess for the unknown email.
      const password = attempt === 8 ? TEST_PASSWORD : `wrong-password-${attempt}`;
      const e = await api.login(existing, password);
      const u = await api.login(unknown, password);
      answers.existing.push(shape(e));
      answers.unknown.push(shape(u));
      // End the backoff, as if its time had passed, so the next attempts count again and reach the lock.
      if (e.status === 429 || u.status === 429) await endBackoff(existing, unknown);
    }
    expect(answers.unknown).toEqual(answers.existing);
    expect(answers.existing.filter((a) => a.status === 429).every((a) => a.retryAfter)).toBe(true);
    expect(answers.existing.map((a) => a.status)).toEqual([401, 401, 429, 401, 429, 401, 423, 423, 423]);
    // Two backoffs (a minute, then two), each answered for both emails.
    expect(waits).toHaveLength(4);
    // Pushed in order (existing, unknown) per backoff, one request apart: at most a second apart.
    const [e1, u1, e2, u2] = waits as [number, number, number, number];
    expect(
      { first: Math.abs(e1 - u1) <= 1, second: Math.abs(e2 - u2) <= 1, inRange: waits.every((w) => w >= 1 && w <= 120) },
      waits.join(', '),
    ).toEqual({
      first: true,
      second: true,
      inRange: true,
    });
  });

  /** Moves both failure states' clocks into the past: the account's backoff end, the unknown email's last failure. */
  async function endBackoff(accountEmail: string, unknownEmail: string): Promise<void> {
    await api.sql.query(`UPDATE users SET backoff_until = now() - interval '1 second' WHERE lower(email) = lower($1)`, [accountEmail]);
    // The key unknown-login-failures.ts keeps an unknown email's failures under.
    const digest = createHmac('sha256', deriveKeys(api.config.API_SECRET_KEY).loginEmailHmac)
      .update(unknownEmail.toLowerCase())
      .digest('base64url');
    await api.app.get<Redis>(REDIS).hset(`${api.config.REDIS_KEY_PREFIX}login-fail:${digest}`, 'last', Date.now() - 3_600_000);
  }
});
