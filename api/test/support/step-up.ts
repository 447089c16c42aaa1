import { totpCode, type TestApi } from './harness.js';

/**
 * Makes the session a stepped-up one (a TOTP code verified just now), as critical routes need:
 * turns TOTP on for its user first unless the secret is given. Returns the TOTP secret.
 * The codes of the previous and the current time step are used up afterwards.
 */
export async function stepUp(api: TestApi, token: string, secret?: string): Promise<string> {
  const totpSecret = secret ?? (await api.enableTotp(token)).secret;
  const r = await api.request('POST', 'auth/step-up', { token, body: { code: await totpCode(totpSecret, 0) } });
  if (r.status !== 200) throw new Error(`step-up failed: ${r.status} ${r.text}`);
  return totpSecret;
}
