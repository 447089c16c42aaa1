// The public surface (infra/proxy/README.md): the proxy's settings, validated, and the Caddyfile
// they render to. Plain ESM so it runs with `node` on the server without a build step.
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';

/** The only requests anyone may send: what a device needs before it has any credential (agent/bootstrap.sh). */
export const PUBLIC_ROUTES = Object.freeze([
  { method: 'POST', path: '/api/v1/enroll' },
  { method: 'GET', path: '/api/v1/agent/bootstrap.sh' },
  { method: 'GET', path: '/api/v1/agent/download/*' },
]);

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

// Upstreams stay off the public network: loopback, RFC 1918 / unique-local, or localhost.
const INTERNAL = new BlockList();
INTERNAL.addSubnet('127.0.0.0', 8, 'ipv4');
INTERNAL.addSubnet('10.0.0.0', 8, 'ipv4');
INTERNAL.addSubnet('172.16.0.0', 12, 'ipv4');
INTERNAL.addSubnet('192.168.0.0', 16, 'ipv4');
INTERNAL.addAddress('::1', 'ipv6');
INTERNAL.addSubnet('fc00::', 7, 'ipv6');

/** `a.b.c.d/n`, `v6/n` or a bare address (a /32 or /128), checked by node:net, not by eye. */
const Cidr = z
  .string()
  .trim()
  .refine((value) => {
    const [address, bits, extra] = value.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || extra !== undefined) return false;
    if (bits === undefined) return true;
    return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
  }, 'must be an IP address or CIDR like 10.0.0.0/8 or fd00::/8');

/** `host:port` of a service the proxy forwards to, on loopback or the internal network only. */
const Upstream = z
  .string()
  .trim()
  .refine((value) => {
    const match = /^(?:\[([0-9a-f:]+)\]|([^:[\]]+)):(\d{1,5})$/i.exec(value);
    if (!match || Number(match[3]) < 1 || Number(match[3]) > 65535) return false;
    const host = match[1] ?? match[2] ?? '';
    if (host === 'localhost') return true;
    const family = isIP(host);
    return family !== 0 && INTERNAL.check(host, family === 4 ? 'ipv4' : 'ipv6');
  }, 'must be host:port on loopback or an internal network (127.0.0.1:3000, 10.0.0.5:3001, [::1]:3000, localhost:3000)');

const Port = z.coerce.number().int().min(1).max(65535);
const FilePath = z
  .string()
  .min(1)
  .refine((v) => v.startsWith('/') && !/[\s"'{}\\\0]/.test(v), 'must be an absolute path without spaces, quotes or braces');

export const ProxyConfigSchema = z
  .object({
    /** The public name (ACME) or the name/IP devices dial (private CA); the certificate's SAN. */
    hostname: z
      .string()
      .trim()
      .toLowerCase()
      .refine((v) => DNS_NAME.test(v) || isIP(v) !== 0, 'must be a DNS name like ops.example.com or an IP address'),
    tls: z.discriminatedUnion('mode', [
      z.object({ mode: z.literal('acme'), email: z.email().optional() }),
      z.object({ mode: z.literal('private-ca'), certFile: FilePath, keyFile: FilePath }),
    ]),
    httpsPort: Port.default(443),
    httpPort: Port.default(80),
    /** Plain HTTP: answer with a redirect to https, or do not listen at all. */
    http: z.enum(['redirect', 'refuse']).default('redirect'),
    /** Local addresses the proxy listens on (default: all). */
    bind: z.array(z.string().refine((v) => isIP(v) !== 0, 'must be an IP address')).default([]),
    /** Who may reach the console and the rest of the API (the seed: "restricted to internal IPs"). */
    allowList: z.array(Cidr).min(1, 'list at least one network that may reach the console'),
    /** `api` may list several instances of one installation: Caddy balances them (round robin, health checks). */
    upstreams: z.object({
      api: z.union([
        Upstream,
        z
          .array(Upstream)
          .min(1, 'list at least one API instance')
          .refine((list) => new Set(list).size === list.length, 'lists an API instance twice'),
      ]),
      console: Upstream,
    }),
  })
  .strict()
  .refine((c) => c.tls.mode !== 'acme' || isIP(c.hostname) === 0, {
    path: ['hostname'],
    message: 'ACME needs a public DNS name; use tls.mode private-ca for an IP address',
  })
  .refine((c) => c.httpPort !== c.httpsPort, { path: ['httpPort'], message: 'must differ from httpsPort' });

/** Every problem at once, one line each (`path: message`), or the parsed settings. */
export function parseProxyConfig(input) {
  const result = ProxyConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`);
  const error = new Error(`invalid proxy config:\n  ${problems.join('\n  ')}`);
  error.problems = problems;
  throw error;
}

const siteHost = (host) => (isIP(host) === 6 ? `[${host}]` : host);

const FORBIDDEN_BODY = JSON.stringify({
  type: 'about:blank',
  title: 'Forbidden',
  status: 403,
  detail: 'This address may only reach enrollment and the agent downloads; the console and the API are for the operator networks.',
});

/** The Caddyfile (Caddy 2.6) for validated settings; deterministic, so a test can compare it. */
export function renderCaddyfile(config) {
  const c = parseProxyConfig(config);
  const lines = [];
  const out = (line = '') => lines.push(line);
  const apis = [c.upstreams.api].flat();
  const upstreamConsole = c.upstreams.console;
  // One API: a plain reverse_proxy. Several: round robin; a refused connection (an instance
  // down) is retried on another within lb_try_duration, a failed instance is skipped for
  // fail_duration, and the readiness probe (PostgreSQL and Redis) takes it out until it answers.
  const apiProxy = (matcher) => {
    if (apis.length === 1) return [`\t\treverse_proxy ${matcher}${apis[0]}`];
    return [
      `\t\treverse_proxy ${matcher}${apis.join(' ')} {`,
      '\t\t\tlb_policy round_robin',
      '\t\t\tlb_try_duration 5s',
      '\t\t\tfail_duration 10s',
      '\t\t\thealth_uri /api/v1/health/ready',
      '\t\t\thealth_interval 5s',
      '\t\t\thealth_timeout 5s',
      '\t\t}',
    ];
  };

  out('# Rendered by infra/proxy/render.mjs: edit the JSON settings and render again, not this file.');
  out('{');
  // No admin endpoint: the config changes by re-rendering and reloading, nothing listens for it.
  out('\tadmin off');
  out(`\thttp_port ${c.httpPort}`);
  out(`\thttps_port ${c.httpsPort}`);
  // Redirects are rendered below (without Caddy's Server header, to the configured name only).
  out('\tauto_https disable_redirects');
  if (c.tls.mode === 'acme' && c.tls.email) out(`\temail ${c.tls.email}`);
  // Clients that send no SNI (an IP in the URL) still get this site's certificate.
  if (c.tls.mode === 'private-ca') out(`\tdefault_sni ${c.hostname}`);
  if (c.bind.length > 0) out(`\tdefault_bind ${c.bind.map(siteHost).join(' ')}`);
  out('\tservers {');
  out('\t\tprotocols h1 h2');
  out('\t}');
  out('}');
  out();
  // ACME needs the name in the address; a private-CA site answers whatever name or IP the
  // client used (the certificate's SANs decide what verifies), instead of Caddy's empty 200.
  out(c.tls.mode === 'acme' ? `https://${siteHost(c.hostname)}:${c.httpsPort} {` : `https://:${c.httpsPort} {`);
  if (c.tls.mode === 'private-ca') out(`\ttls ${c.tls.certFile} ${c.tls.keyFile} {`);
  else out('\ttls {');
  out('\t\tprotocols tls1.3');
  out('\t}');
  out();
  out('\theader {');
  out('\t\tStrict-Transport-Security "max-age=31536000"');
  // No product or version in answers (Caddy's own, Next.js's).
  out('\t\t-Server');
  out('\t\t-X-Powered-By');
  out('\t}');
  out();
  out('\t@enroll {');
  out('\t\tmethod POST');
  out('\t\tpath /api/v1/enroll');
  out('\t}');
  out('\t@agentDownloads {');
  out('\t\tmethod GET');
  out('\t\tpath /api/v1/agent/bootstrap.sh /api/v1/agent/download/*');
  out('\t}');
  out(`\t@outsider not remote_ip ${c.allowList.join(' ')}`);
  out('\t@api path /api/*');
  out();
  // In order: the public routes for anyone, then 403 for anyone outside the allow-list, then the rest.
  // Errors (an upstream down: 502) keep HSTS and lose the Server header too.
  out('\thandle_errors {');
  out('\t\theader {');
  out('\t\t\tStrict-Transport-Security "max-age=31536000"');
  out('\t\t\t-Server');
  out('\t\t}');
  out('\t\trespond "{err.status_code} {err.status_text}"');
  out('\t}');
  out();
  out('\troute {');
  for (const line of apiProxy('@enroll ')) out(line);
  for (const line of apiProxy('@agentDownloads ')) out(line);
  out('\t\theader @outsider Content-Type application/problem+json');
  out(`\t\trespond @outsider \`${FORBIDDEN_BODY}\` 403`);
  for (const line of apiProxy('@api ')) out(line);
  out(`\t\treverse_proxy ${upstreamConsole}`);
  out('\t}');
  out('}');
  if (c.http === 'redirect') {
    const port = c.httpsPort === 443 ? '' : `:${c.httpsPort}`;
    out();
    out(`http://:${c.httpPort} {`);
    out('\theader -Server');
    out(`\tredir https://${siteHost(c.hostname)}${port}{uri} 308`);
    out('}');
  }
  return `${lines.join('\n')}\n`;
}
