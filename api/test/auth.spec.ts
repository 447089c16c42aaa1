import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD, TestApi, totpCode, uniqueEmail } from './support/harness.js';
import { stepUp } from './support/step-up.js';

/** Auth flows against the real API, PostgreSQL and Redis. Backoff is shortened so lockout runs in seconds. */
describe('auth', () => {
  let api: TestApi;
  let admin: string;

  beforeAll(async () => {
    api = await TestApi.start({ API_LOGIN_BACKOFF_BASE_MS: '60000', API_LOGIN_BACKOFF_AFTER: '5', API_LOGIN_LOCK_AFTER: '10' });
    admin = await api.adminToken();
    // Unlocking and creating Super Admins are critical actions.
    await stepUp(api, admin);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('refuses a wrong password and an unknown account with the same answer', async () => {
    const user = await api.createUser(admin, 'read_only');
    const wrong = await api.login(user.email, 'not-the-password-at-all');
    const unknown = await api.login(uniqueEmail('nobody'), 'not-the-password-at-all');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.code).toBe('AUTH_INVALID_CREDENTIALS');
    expect(unknown.body.detail).toBe(wrong.body.detail);
    const rows = await api.auditRows(`action = 'auth.login' AND result = 'failure' AND user_id = $1`, [user.id]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0].details)).not.toContain('not-the-password-at-all');
  });

  it('backs off after 5 failures, locks after 10, and an admin unlocks', async () => {
    const user = await api.createUser(admin, 'soc_operator');
    const statuses: string[] = [];
    for (let attempt = 0; statuses.filter((s) => s === 'AUTH_INVALID_CREDENTIALS').length < 10 && attempt < 60; attempt++) {
      const r = await api.login(user.email, 'wrong-password-xyz');
      statuses.push(r.body.code);
      if (r.body.code === 'AUTH_LOGIN_BACKOFF') {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        // End the backoff as if its time had passed (it is long: no slow machine outlives it between attempts).
        await api.sql.query(`UPDATE users SET backoff_until = now() - interval '1 second' WHERE id = $1`, [user.id]);
      }
    }
    expect(statuses.slice(0, 5)).toEqual(Array(5).fill('AUTH_INVALID_CREDENTIALS'));
    expect(statuses).toContain('AUTH_LOGIN_BACKOFF');
    // Locked: even the right password is refused, without being checked.
    const locked = await api.login(user.email, TEST_PASSWORD);
    expect(locked.status).toBe(423);
    expect(locked.body.code).toBe('AUTH_ACCOUNT_LOCKED');
    expect(await api.auditRows(`action = 'auth.lockout' AND resource_id = $1`, [user.id])).toHaveLength(1);

    const unlock = await api.request('POST', `users/${user.id}/unlock`, { token: admin });
    expect(unlock.status).toBe(201);
    expect(unlock.body.isLocked).toBe(false);
    expect((await api.login(user.email, TEST_PASSWORD)).status).toBe(200);
    expect(await api.auditRows(`action = 'user.unlock' AND resource_id = $1 AND result = 'success'`, [user.id])).toHaveLength(1);
  });

  it('sets up TOTP, makes login two-step, refuses a replayed code, and burns recovery codes once', async () => {
    const user = await api.createUser(admin, 'soc_operator');
    const token = await api.tokenFor(user.email);

    const enableBeforeSetup = await api.request('POST', 'auth/totp/enable', { token, body: { code: '123456' } });
    expect(enableBeforeSetup.body.code).toBe('AUTH_TOTP_NOT_STARTED');
    const setup = await api.request('POST', 'auth/totp/setup', { token });
    expect(setup.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/.*secret=/);
    const badEnable = await api.request('POST', 'auth/totp/enable', { token, body: { code: '000000' } });
    expect(badEnable.body.code).toBe('AUTH_TOTP_INVALID');
    const enable = await api.request('POST', 'auth/totp/enable', { token, body: { code: await totpCode(setup.body.secret, -1) } });
    expect(enable.status).toBe(200);
    const codes: string[] = enable.body.recoveryCodes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const { rows } = await api.sql.query('SELECT code_hash FROM user_recovery_codes WHERE user_id = $1', [user.id]);
    expect(rows.map((r) => r.code_hash)).not.toContain(codes[0]);
    const secretRow = await api.sql.query('SELECT totp_secret_sealed FROM users WHERE id = $1', [user.id]);
    expect(secretRow.rows[0].totp_secret_sealed).not.toContain(setup.body.secret);

    // Login is now two steps.
    const step1 = await api.login(user.email, TEST_PASSWORD);
    expect(step1.body).toEqual({ mfaRequired: true, mfaToken: expect.any(String) });
    expect(step1.body.accessToken).toBeUndefined();
    const code = await totpCode(setup.body.secret, 0);
    const step2 = await api.request('POST', 'auth/totp/verify', { body: { mfaToken: step1.body.mfaToken, code } });
    expect(step2.status).toBe(200);
    expect(step2.body.accessToken).toBeTruthy();

    // The same code again (replay) is refused, even in a new login.
    const again = await api.login(user.email, TEST_PASSWORD);
    const replay = await api.request('POST', 'auth/totp/verify', { body: { mfaToken: again.body.mfaToken, code } });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('AUTH_TOTP_INVALID');
    expect(await api.auditRows(`action = 'auth.login_totp' AND result = 'failure' AND user_id = $1`, [user.id])).toHaveLength(1);

    // A recovery code works once.
    const viaRecovery = await api.request('POST', 'auth/totp/verify', { body: { mfaToken: again.body.mfaToken, recoveryCode: codes[0] } });
    expect(viaRecovery.status).toBe(200);
    const third = await api.login(user.email, TEST_PASSWORD);
    const reused = await api.request('POST', 'auth/totp/verify', { body: { mfaToken: third.body.mfaToken, recoveryCode: codes[0] } });
    expect(reused.body.code).toBe('AUTH_TOTP_INVALID');
    const other = await api.request('POST', 'auth/totp/verify', {
      body: { mfaToken: third.body.mfaToken, recoveryCode: codes[1]!.toUpperCase() },
    });
    expect(other.status).toBe(200);

    const both = await api.request('POST', 'auth/totp/verify', {
      body: { mfaToken: third.body.mfaToken, code: '123456', recoveryCode: codes[2] },
    });
    expect(both.status).toBe(400);
    const forged = await api.request('POST', 'auth/totp/verify', { body: { mfaToken: `${third.body.mfaToken}x`, code: '123456' } });
    expect(forged.body.code).toBe('AUTH_TOKEN_INVALID');
    expect(await api.auditRows(`action = 'auth.totp_enabled' AND resource_id = $1`, [user.id])).toHaveLength(1);
  });

  it('accepts the MFA token of a two-step login once', async () => {
    const user = await api.createUser(admin, 'soc_operator');
    const { secret, recoveryCodes } = await api.enableTotp(await api.tokenFor(user.email));
    const verify = (mfaToken: string, proof: { code: string } | { recoveryCode: string }) =>
      api.request('POST', 'auth/totp/verify', { body: { mfaToken, ...proof } });
    const mfaToken = async () => (await api.login(user.email, TEST_PASSWORD)).body.mfaToken as string;

    // A wrong code leaves the token usable (wrong codes count as failed logins instead).
    const first = await mfaToken();
    expect((await verify(first, { code: '000000' })).body.code).toBe('AUTH_TOTP_INVALID');
    expect((await verify(first, { code: await totpCode(secret, 0) })).status).toBe(200);
    // Once it opened a session, nothing gets through with it: a fresh code, a recovery code, a wrong code.
    for (const proof of [{ code: await totpCode(secret, 1) }, { recoveryCode: recoveryCodes[0]! }, { code: '000000' }]) {
      const again = await verify(first, proof);
      expect([again.status, again.body.code]).toEqual([401, 'AUTH_TOKEN_INVALID']);
    }
    // The refused attempts used up nothing.
    expect((await verify(await mfaToken(), { recoveryCode: recoveryCodes[0]! })).status).toBe(200);

    // Two uses at once, each with a valid recovery code: one session, and the loser's code stays unused.
    const raced = await mfaToken();
    const both = await Promise.all([
      verify(raced, { recoveryCode: recoveryCodes[1]! }),
      verify(raced, { recoveryCode: recoveryCodes[2]! }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(both.find((r) => r.status === 401)?.body.code).toBe('AUTH_TOKEN_INVALID');
    const used = await api.sql.query('SELECT count(*)::int AS n FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NOT NULL', [
      user.id,
    ]);
    expect(used.rows[0].n).toBe(2);
  });

  it('requires a fresh TOTP (step-up) on a critical route', async () => {
    const user = await api.createUser(admin, 'super_admin');
    const token = await api.tokenFor(user.email);
    const policy = { requireTotp: false };
    const withoutTotp = await api.request('PUT', 'settings/security', { token, body: policy });
    expect(withoutTotp.status).toBe(403);
    expect(withoutTotp.body.code).toBe('AUTH_STEP_UP_REQUIRED');
    const stepUpNoTotp = await api.request('POST', 'auth/step-up', { token, body: { code: '123456' } });
    expect(stepUpNoTotp.body.code).toBe('AUTH_TOTP_NOT_ENABLED');

    const { secret } = await api.enableTotp(token);
    expect((await api.request('PUT', 'settings/security', { token, body: policy })).body.code).toBe('AUTH_STEP_UP_REQUIRED');
    const badStepUp = await api.request('POST', 'auth/step-up', { token, body: { code: '000000' } });
    expect(badStepUp.body.code).toBe('AUTH_TOTP_INVALID');
    const stepUp = await api.request('POST', 'auth/step-up', { token, body: { code: await totpCode(secret, 0) } });
    expect(stepUp.status).toBe(200);
    expect(new Date(stepUp.body.stepUpValidUntil).getTime()).toBeGreaterThan(Date.now());
    const after = await api.request('PUT', 'settings/security', { token, body: policy });
    expect(after.status).toBe(200);

    // Step-up belongs to the session: a new session (password only) must step up again.
    const login = await api.login(user.email, TEST_PASSWORD);
    const fresh = await api.request('POST', 'auth/totp/verify', {
      body: { mfaToken: login.body.mfaToken, code: await totpCode(secret, 1) },
    });
    expect(fresh.status).toBe(200);
    // ...a login with a TOTP code counts as a fresh verification.
    expect((await api.request('PUT', 'settings/security', { token: fresh.body.accessToken, body: policy })).status).toBe(200);
  });

  it('expires step-up after the configured window', async () => {
    const short = await TestApi.start({ API_STEP_UP_TTL_SECONDS: '30' });
    try {
      const token = await short.adminToken();
      const { secret } = await short.enableTotp(token);
      const login = await short.login('admin@test.local', 'admin-password-for-tests');
      const verified = await short.request('POST', 'auth/totp/verify', {
        body: { mfaToken: login.body.mfaToken, code: await totpCode(secret, 0) },
      });
      const session = verified.body.accessToken;
      expect((await short.request('PUT', 'settings/security', { token: session, body: { requireTotp: false } })).status).toBe(200);
      await short.sql.query(`UPDATE auth_sessions SET step_up_at = now() - interval '31 seconds'`);
      const stale = await short.request('PUT', 'settings/security', { token: session, body: { requireTotp: false } });
      expect(stale.body.code).toBe('AUTH_STEP_UP_REQUIRED');
    } finally {
      await short.stop();
    }
  });

  it('locks a disabled user out on the very next request, and applies a role change at once', async () => {
    const user = await api.createUser(admin, 'soc_operator');
    const token = await api.tokenFor(user.email);
    expect((await api.request('GET', 'audit', { token })).status).toBe(200);

    const demote = await api.request('PATCH', `users/${user.id}`, { token: admin, body: { role: 'read_only' } });
    expect(demote.status).toBe(200);
    expect((await api.request('GET', 'audit', { token })).body.code).toBe('AUTH_FORBIDDEN');
    const roleRow = await api.auditRows(`action = 'user.role_change' AND resource_id = $1`, [user.id]);
    expect(roleRow[0].details).toMatchObject({ roleFrom: 'soc_operator', roleTo: 'read_only' });

    const disable = await api.request('PATCH', `users/${user.id}`, { token: admin, body: { status: 'disabled' } });
    expect(disable.status).toBe(200);
    const next = await api.request('GET', 'auth/me', { token });
    expect(next.status).toBe(401);
    expect((await api.login(user.email, TEST_PASSWORD)).body.code).toBe('AUTH_USER_DISABLED');
    expect(await api.auditRows(`action = 'user.disable' AND resource_id = $1`, [user.id])).toHaveLength(1);
  });

  it('rotates refresh tokens and revokes the whole family when an old one is reused', async () => {
    const user = await api.createUser(admin, 'read_only');
    const login = await api.login(user.email, TEST_PASSWORD);
    const first = login.body.refreshToken;
    const r1 = await api.request('POST', 'auth/refresh', { body: { refreshToken: first } });
    expect(r1.status).toBe(200);
    expect(r1.body.refreshToken).not.toBe(first);
    const r2 = await api.request('POST', 'auth/refresh', { body: { refreshToken: r1.body.refreshToken } });
    expect(r2.status).toBe(200);
    expect((await api.request('GET', 'auth/me', { token: r2.body.accessToken })).status).toBe(200);

    const reuse = await api.request('POST', 'auth/refresh', { body: { refreshToken: first } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.code).toBe('AUTH_REFRESH_REUSED');
    // Everything of that login is dead now: the newest refresh token and the access token.
    expect((await api.request('POST', 'auth/refresh', { body: { refreshToken: r2.body.refreshToken } })).body.code).toBe(
      'AUTH_SESSION_REVOKED',
    );
    expect((await api.request('GET', 'auth/me', { token: r2.body.accessToken })).body.code).toBe('AUTH_SESSION_REVOKED');
    expect(await api.auditRows(`action = 'auth.refresh_reuse_detected'`)).not.toHaveLength(0);
    // Another login of the same user is a different family and still works.
    expect((await api.request('GET', 'auth/me', { token: await api.tokenFor(user.email) })).status).toBe(200);
  });

  it('uses httpOnly cookies with CSRF protection for the console, and logout ends the session', async () => {
    const user = await api.createUser(admin, 'soc_operator');
    const login = await api.login(user.email, TEST_PASSWORD);
    const setCookies = login.headers.getSetCookie();
    const cookie = (name: string) => setCookies.find((c) => c.startsWith(`${name}=`))!;
    expect(cookie('xs_access')).toMatch(/HttpOnly/);
    expect(cookie('xs_access')).toMatch(/SameSite=Strict/);
    expect(cookie('xs_refresh')).toMatch(/HttpOnly/);
    expect(cookie('xs_csrf')).not.toMatch(/HttpOnly/);
    const jar = setCookies.map((c) => c.split(';')[0]).join('; ');
    const csrf = cookie('xs_csrf').split(';')[0]!.split('=')[1]!;

    expect((await api.request('GET', 'auth/me', { headers: { cookie: jar } })).status).toBe(200);
    const noCsrf = await api.request('POST', 'auth/logout', { headers: { cookie: jar } });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.code).toBe('AUTH_CSRF_FAILED');
    const refreshed = await api.request('POST', 'auth/refresh', { body: {}, headers: { cookie: jar, 'x-csrf-token': csrf } });
    expect(refreshed.status).toBe(200);

    const logout = await api.request('POST', 'auth/logout', { headers: { cookie: jar, 'x-csrf-token': csrf } });
    expect(logout.status).toBe(200);
    expect((await api.request('GET', 'auth/me', { headers: { cookie: jar } })).body.code).toBe('AUTH_SESSION_REVOKED');
  });

  it('refuses passwords over 72 bytes instead of truncating them', async () => {
    const long = `${'ä'.repeat(37)}`; // 74 bytes in UTF-8, 37 characters
    const r = await api.request('POST', 'users', {
      token: admin,
      body: { email: uniqueEmail(), displayName: 'Long', role: 'read_only', password: long },
    });
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/72 bytes/);
    // A login with a 73+ byte password never matches an account whose password is its first 72 bytes.
    const user = await api.createUser(admin, 'read_only');
    expect((await api.login(user.email, `${TEST_PASSWORD}${'x'.repeat(80)}`)).status).toBe(401);
  });

  it('forces TOTP setup on everyone when a Super Admin requires it', async () => {
    const other = await TestApi.start();
    try {
      const token = await other.adminToken();
      const { secret } = await other.enableTotp(token);
      const op = await other.createUser(token, 'soc_operator');
      expect((await other.request('POST', 'auth/step-up', { token, body: { code: await totpCode(secret, 0) } })).status).toBe(200);
      expect((await other.request('PUT', 'settings/security', { token, body: { requireTotp: true } })).status).toBe(200);

      const login = await other.login(op.email, TEST_PASSWORD);
      expect(login.body.totpSetupRequired).toBe(true);
      const opToken = login.body.accessToken;
      const blocked = await other.request('GET', 'organizations', { token: opToken });
      expect(blocked.body.code).toBe('AUTH_TOTP_SETUP_REQUIRED');
      expect((await other.request('GET', 'auth/me', { token: opToken })).body.totpSetupRequired).toBe(true);
      const { secret: opSecret } = await other.enableTotp(opToken);
      expect((await other.request('GET', 'organizations', { token: opToken })).status).toBe(200);
      const disable = await other.request('POST', 'auth/totp/disable', {
        token: opToken,
        body: { code: await totpCode(opSecret, 0), password: TEST_PASSWORD },
      });
      expect(disable.body.code).toBe('AUTH_TOTP_REQUIRED_BY_POLICY');
      expect(await other.auditRows(`action = 'settings.security_update' AND result = 'success'`)).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });

  it('changes the own password and ends the other sessions', async () => {
    const user = await api.createUser(admin, 'read_only');
    const a = await api.tokenFor(user.email);
    const b = await api.tokenFor(user.email);
    const wrong = await api.request('POST', 'auth/password', {
      token: a,
      body: { currentPassword: 'nope-nope-nope', newPassword: 'brand-new-password-1' },
    });
    expect(wrong.body.code).toBe('AUTH_INVALID_CREDENTIALS');
    const ok = await api.request('POST', 'auth/password', {
      token: a,
      body: { currentPassword: TEST_PASSWORD, newPassword: 'brand-new-password-1' },
    });
    expect(ok.status).toBe(200);
    expect((await api.request('GET', 'auth/me', { token: a })).status).toBe(200);
    expect((await api.request('GET', 'auth/me', { token: b })).status).toBe(401);
    expect((await api.login(user.email, 'brand-new-password-1')).status).toBe(200);
    const row = await api.auditRows(`action = 'auth.password_change' AND result = 'success' AND user_id = $1`, [user.id]);
    expect(JSON.stringify(row[0].details)).not.toContain('brand-new-password-1');
  });
});
