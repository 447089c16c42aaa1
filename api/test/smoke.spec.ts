import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi } from './support/harness.js';

describe('smoke', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await TestApi.start();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('answers health and logs in the bootstrap admin', async () => {
    expect((await api.request('GET', 'health')).status).toBe(200);
    const token = await api.adminToken();
    const me = await api.request('GET', 'auth/me', { token });
    expect(me.status).toBe(200);
    expect(me.body.role).toBe('super_admin');
  });
});
