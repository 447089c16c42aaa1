/** Types of proxy.mjs for TypeScript callers (tests). */
export interface ProxyConfig {
  hostname: string;
  tls: { mode: 'acme'; email?: string } | { mode: 'private-ca'; certFile: string; keyFile: string };
  httpsPort: number;
  httpPort: number;
  http: 'redirect' | 'refuse';
  bind: string[];
  allowList: string[];
  /** One API instance, or several balanced round robin. */
  upstreams: { api: string | string[]; console: string };
}
export const PUBLIC_ROUTES: readonly { method: string; path: string }[];
export function parseProxyConfig(input: unknown): ProxyConfig;
export function renderCaddyfile(input: unknown): string;
