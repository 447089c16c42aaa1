// The console's production server: Next.js for the pages, plus a same-origin proxy of /api
// (HTTP and the live WebSocket upgrade) to the API, so the API's httpOnly SameSite=Strict
// cookies (path /api) and its CSRF double-submit work unchanged in the browser.
// Why not next.config rewrites: they proxy WebSockets with a 30 s idle timeout and without
// X-Forwarded-For (every operator would share one login rate limit), and cannot set a CSP nonce.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forwardedHeadersFor, parseTrustedProxies } from './server/forwarded.mjs';

const dev = process.argv.includes('--dev');
// React and Next.js pick their production builds from NODE_ENV: set it before loading them.
process.env.NODE_ENV = dev ? 'development' : 'production';
const { default: next } = await import('next');
const port = Number(process.env.PORT ?? 3001);
const host = process.env.CONSOLE_HOST ?? '127.0.0.1';
const apiUrl = new URL(process.env.API_URL ?? `http://127.0.0.1:${process.env.API_PORT ?? 3000}`);
if (apiUrl.protocol !== 'http:') {
  console.error(`API_URL must be an http:// URL on the internal network (got ${apiUrl.protocol})`);
  process.exit(1);
}
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`PORT must be a TCP port (got ${process.env.PORT})`);
  process.exit(1);
}
// The proxies in front (a TLS terminator) whose X-Forwarded-For names the client; default loopback,
// as the API's API_TRUST_PROXY: a remote client's own claim is never believed.
let trustedProxy;
try {
  trustedProxy = parseTrustedProxies(process.env.CONSOLE_TRUST_PROXY ?? 'loopback');
} catch (error) {
  console.error(`CONSOLE_TRUST_PROXY: ${error.message}`);
  process.exit(1);
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded; upgrades set their own.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers for the API: the client's, minus hop-by-hop, plus who the client is (the API trusts loopback proxies). */
function forwardedHeaders(req) {
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
  }
  // The client's X-Forwarded-* are replaced, never passed on as sent: the API trusts this server,
  // so a passed-on claim would choose the rate-limit bucket and the audited address.
  Object.assign(
    headers,
    forwardedHeadersFor({ peer: req.socket.remoteAddress, encrypted: Boolean(req.socket.encrypted), headers: req.headers }, trustedProxy),
  );
  headers.host = apiUrl.host;
  return headers;
}

function problem(res, status, detail) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ type: 'about:blank', title: 'The API cannot be reached', status, detail, code: 'CONSOLE_API_UNREACHABLE' });
  res.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
  res.end(body);
}

function proxyHttp(req, res) {
  const upstream = http.request(
    {
      protocol: apiUrl.protocol,
      hostname: apiUrl.hostname,
      port: apiUrl.port,
      method: req.method,
      path: req.url,
      headers: forwardedHeaders(req),
    },
    (apiRes) => {
      const headers = {};
      for (const [name, value] of Object.entries(apiRes.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
      }
      res.writeHead(apiRes.statusCode ?? 502, headers);
      apiRes.pipe(res);
      apiRes.on('error', () => res.destroy());
    },
  );
  upstream.on('error', (error) => problem(res, 502, `the console could not reach the API: ${error.code ?? error.message}`));
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

function rawResponseHead(statusCode, statusMessage, rawHeaders) {
  let head = `HTTP/1.1 ${statusCode} ${statusMessage ?? ''}\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/** The live WebSocket: the upgrade (and any refusal, e.g. 401 problem+json) is relayed as is, then bytes both ways. */
function proxyUpgrade(req, socket, head) {
  const headers = forwardedHeaders(req);
  headers.connection = 'Upgrade';
  headers.upgrade = req.headers.upgrade ?? 'websocket';
  const upstream = http.request({
    protocol: apiUrl.protocol,
    hostname: apiUrl.hostname,
    port: apiUrl.port,
    method: req.method,
    path: req.url,
    headers,
  });
  upstream.on('upgrade', (apiRes, apiSocket, apiHead) => {
    socket.write(rawResponseHead(apiRes.statusCode, apiRes.statusMessage, apiRes.rawHeaders));
    if (apiHead.length) socket.write(apiHead);
    if (head.length) apiSocket.write(head);
    apiSocket.setNoDelay(true);
    socket.setNoDelay(true);
    apiSocket.pipe(socket).pipe(apiSocket);
    apiSocket.on('error', () => socket.destroy());
    socket.on('error', () => apiSocket.destroy());
    apiSocket.on('close', () => socket.destroy());
    socket.on('close', () => apiSocket.destroy());
  });
  upstream.on('response', (apiRes) => {
    // A refusal: relay the HTTP answer and close.
    const pairs = [];
    for (let i = 0; i < apiRes.rawHeaders.length; i += 2) {
      const name = apiRes.rawHeaders[i].toLowerCase();
      // The body is relayed whole, with a Content-Length of its own.
      if (!HOP_BY_HOP.has(name) && name !== 'content-length') pairs.push(apiRes.rawHeaders[i], apiRes.rawHeaders[i + 1]);
    }
    const chunks = [];
    apiRes.on('data', (c) => chunks.push(c));
    apiRes.on('end', () => {
      const body = Buffer.concat(chunks);
      pairs.push('Content-Length', String(body.length), 'Connection', 'close');
      socket.end(Buffer.concat([Buffer.from(rawResponseHead(apiRes.statusCode, apiRes.statusMessage, pairs)), body]));
    });
  });
  upstream.on('error', () => {
    socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  socket.on('error', () => upstream.destroy());
  upstream.end();
}

/** The page CSP: scripts only from here or with this response's nonce (Next.js reads it from the request header). */
function contentSecurityPolicy(nonce) {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}`,
    // React style props and uPlot's element styles need inline styles; no script can hide there.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function setSecurityHeaders(res) {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()');
}

const app = next({ dev, dir: dirname(fileURLToPath(import.meta.url)), hostname: host, port });
await app.prepare();
const handle = app.getRequestHandler();
const nextUpgrade = dev ? app.getUpgradeHandler() : null;

const server = http.createServer((req, res) => {
  const path = req.url ?? '/';
  setSecurityHeaders(res);
  if (path === '/api' || path.startsWith('/api/')) {
    proxyHttp(req, res);
    return;
  }
  const nonce = randomBytes(16).toString('base64');
  const csp = contentSecurityPolicy(nonce);
  req.headers['content-security-policy'] = csp;
  res.setHeader('Content-Security-Policy', csp);
  handle(req, res).catch((error) => {
    console.error('request failed', error);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error');
  });
});

server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => undefined);
  const path = req.url ?? '/';
  if (path.startsWith('/api/')) proxyUpgrade(req, socket, head);
  else if (nextUpgrade) nextUpgrade(req, socket, head);
  else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
});

server.listen(port, host, () => {
  console.log(`console listening on http://${host}:${port} (API ${apiUrl.origin}${dev ? ', development' : ''})`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
