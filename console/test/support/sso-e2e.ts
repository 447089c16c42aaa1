import { useConsoleE2e, type ConsoleE2e } from './e2e.js';

/** Where the screenshots of single sign-on go. */
export const SSO_SHOTS = '/tmp/shots-sso';

/**
 * The console end to end with single sign-on: the API knows the console's public URL
 * (API_CONSOLE_URL: every SP URL and the redirect after an IdP's answer). No hub, no worker.
 */
export function useSsoE2e(): ConsoleE2e {
  return useConsoleE2e({ consoleUrl: true, shotsDir: SSO_SHOTS });
}
