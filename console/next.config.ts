import type { NextConfig } from 'next';

/**
 * Served by server.mjs (the custom server proxies /api and the live WebSocket to the API and
 * sets the security headers with a per-request CSP nonce), so nothing here rewrites or proxies.
 */
const config: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  // The console is only ever reached through server.mjs; no image optimizer is needed.
  images: { unoptimized: true },
};

export default config;
