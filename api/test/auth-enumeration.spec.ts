import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD, TestApi, uniqueEmail, type Reply } from './support/harness.js';

/** Login answers must not tell an existing account from an unknown email. */
describe('auth: no account enumeration', () => {
  let api: TestApi;

  beforeAll(async () => {
    // Backoff from the 2nd failure (1 s, then 2 s), lock at the 4th: the whole schedule in seconds.
    api = await TestApi.start({ API_LOGIN_BACKOFF_AFTER: '2', API_LOGIN_LOCK_AFTER: '4', API_LOGIN_BACKOFF_BASE_MS: '1000' });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('answers wrong passwords for an existing account and an unknown email alike: backoff, then lock', async () => {
    const admin = await api.adminToken();
    const existing = (await api.createUser(admin, 'soc_operator')).email;
    const unknown = uniqueEmail('nobody');
    const shape = (r: Reply) => ({
      status: r.status,
      code: r.body?.code as string | undefined,
      detail: r.body?.detail as string | undefined,
      retryAfter: r.headers.has('retry-after'),
    });
    const answers: Record<'existing' | 'unknown', Array<ReturnType<typeof shape>>> = { existing: [], unknown: [] };
    for (let attempt = 0; attempt < 9; attempt++) {
      // Last, the right password of the locked account: still refused, like any guess for the unknown email.
      const password = attempt === 8 ? TEST_PASSWORD : `wrong-password-${attempt}`;
      const e = await api.login(existing, password);
      const u = await api.login(unknown, password);
      answers.existing.push(shape(e));
      answers.unknown.push(shape(u));
      // Wait out a backoff, so the next attempts count again and reach the lock.
      const wait = Math.max(Number(e.headers.get('retry-after') ?? 0), Number(u.headers.get('retry-after') ?? 0));
      if (e.status === 429 || u.status === 429) await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 150));
    }
    expect(answers.unknown).toEqual(answers.existing);
    expect(answers.existing.map((a) => a.status)).toEqual([401, 401, 429, 401, 429, 401, 423, 423, 423]);
  });
});
