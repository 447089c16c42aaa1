// Types of forwarded.mjs (plain JavaScript, loaded by server.mjs without a build step).
export function normalizeAddress(value: unknown): string | null;
export function parseTrustedProxies(setting: string): (address: string) => boolean;
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: (address: string) => boolean,
): string;
export function forwardedHeadersFor(
  request: { peer: string | undefined; encrypted: boolean; headers: Record<string, string | string[] | undefined> },
  trusted: (address: string) => boolean,
): Record<string, string>;
