import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseProxyConfig, renderCaddyfile } from './proxy.mjs';

const RENDER = join(dirname(fileURLToPath(import.meta.url)), '..', 'render.mjs');

const base = {
  hostname: 'ops.example.com',
  tls: { mode: 'acme', email: 'ops@example.com' },
  allowList: ['10.0.0.0/8', '192.0.2.7'],
  upstreams: { api: '127.0.0.1:3000', console: '127.0.0.1:3001' },
};

describe('renderCaddyfile', () => {
  it('renders TLS 1.3 only, HSTS, no Server header, the public routes first and 403 for outsiders', () => {
    const text = renderCaddyfile(base);
    expect(text).toContain('https://ops.example.com:443 {');
    expect(text).toMatch(/\ttls \{\n\t\tprotocols tls1\.3\n\t\}/);
    expect(text).toContain('Strict-Transport-Security "max-age=31536000"');
    expect(text).toContain('\t\t-Server\n');
    expect(text).toContain('\temail ops@example.com\n');
    expect(text).toContain('\tadmin off\n');
    expect(text).toContain('@outsider not remote_ip 10.0.0.0/8 192.0.2.7\n');
    expect(text).toContain('\t\tmethod POST\n\t\tpath /api/v1/enroll\n');
    expect(text).toContain('\t\tmethod GET\n\t\tpath /api/v1/agent/bootstrap.sh /api/v1/agent/download/*\n');
    const order = [
      'reverse_proxy @enroll',
      'reverse_proxy @agentDownloads',
      'respond @outsider',
      'reverse_proxy @api',
      'reverse_proxy 127.0.0.1:3001',
    ];
    const at = order.map((s) => text.indexOf(s));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // Redirect from port 80 to the name, explicit (no Server header), by default.
    expect(text).toContain('http://:80 {\n\theader -Server\n\tredir https://ops.example.com{uri} 308\n}');
  });

  it('uses the private CA files, answers any name, and can refuse plain HTTP', () => {
    const text = renderCaddyfile({
      ...base,
      hostname: '203.0.113.10',
      tls: { mode: 'private-ca', certFile: '/etc/xspectre/tls/server.crt', keyFile: '/etc/xspectre/tls/server.key' },
      httpsPort: 8443,
      http: 'refuse',
      bind: ['203.0.113.10'],
    });
    expect(text).toContain('https://:8443 {');
    expect(text).toContain('\ttls /etc/xspectre/tls/server.crt /etc/xspectre/tls/server.key {\n\t\tprotocols tls1.3\n');
    expect(text).toContain('\tdefault_sni 203.0.113.10\n');
    expect(text).toContain('\tdefault_bind 203.0.113.10\n');
    expect(text).toContain('\tauto_https disable_redirects\n');
    expect(text).not.toContain('http://');
  });

  it('is a Caddyfile caddy 2.6 accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xs-proxy-render-'));
    try {
      writeFileSync(join(dir, 'Caddyfile'), renderCaddyfile(base));
      const adapted = spawnSync('caddy', ['adapt', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      });
      expect(adapted.status, adapted.stderr).toBe(0);
      expect(JSON.stringify(JSON.parse(adapted.stdout).apps.http.servers)).toContain('"protocol_min":"tls1.3"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('balances several API instances round robin with health checks; one stays a plain reverse_proxy', () => {
    const text = renderCaddyfile({ ...base, upstreams: { api: ['127.0.0.1:3000', '10.0.0.5:3000'], console: '127.0.0.1:3001' } });
    for (const matcher of ['@enroll', '@agentDownloads', '@api'])
      expect(text).toContain(`\t\treverse_proxy ${matcher} 127.0.0.1:3000 10.0.0.5:3000 {\n\t\t\tlb_policy round_robin\n`);
    expect(text).toContain('\t\t\thealth_uri /api/v1/health/ready\n');
    expect(text).toContain('\t\t\tlb_try_duration 5s\n');
    expect(renderCaddyfile({ ...base, upstreams: { api: ['127.0.0.1:3000'], console: '127.0.0.1:3001' } })).toBe(renderCaddyfile(base));
    const dir = mkdtempSync(join(tmpdir(), 'xs-proxy-render-'));
    try {
      writeFileSync(join(dir, 'Caddyfile'), text);
      const adapted = spawnSync('caddy', ['adapt', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      });
      expect(adapted.status, adapted.stderr).toBe(0);
      expect(adapted.stdout).toContain('"selection_policy":{"policy":"round_robin"}');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad settings with every problem listed', () => {
    const bad = [
      [{ ...base, allowList: [] }, 'allowList: list at least one network'],
      [{ ...base, allowList: ['10.0.0.0/33'] }, 'allowList.0: must be an IP address or CIDR'],
      [{ ...base, allowList: ['any'] }, 'allowList.0'],
      [{ ...base, upstreams: { api: '8.8.8.8:3000', console: '127.0.0.1:3001' } }, 'upstreams.api: must be host:port on loopback'],
      [{ ...base, upstreams: { api: '127.0.0.1', console: 'example.com:80' } }, 'upstreams.console'],
      [{ ...base, upstreams: { api: ['127.0.0.1:3000', '8.8.8.8:3000'], console: '127.0.0.1:3001' } }, 'upstreams.api'],
      [{ ...base, upstreams: { api: ['127.0.0.1:3000', '127.0.0.1:3000'], console: '127.0.0.1:3001' } }, 'lists an API instance twice'],
      [{ ...base, upstreams: { api: [], console: '127.0.0.1:3001' } }, 'upstreams.api'],
      [{ ...base, hostname: 'ops example.com' }, 'hostname: must be a DNS name'],
      [{ ...base, hostname: '203.0.113.10' }, 'hostname: ACME needs a public DNS name'],
      [{ ...base, tls: { mode: 'private-ca', certFile: 'server.crt', keyFile: '/x/"k' } }, 'tls.certFile: must be an absolute path'],
      [{ ...base, tls: { mode: 'self-signed' } }, 'tls.mode'],
      [{ ...base, httpPort: 443 }, 'httpPort: must differ from httpsPort'],
      [{ ...base, http: 'allow' }, 'http'],
      [{ ...base, extra: 1 }, 'extra'],
    ] as const;
    for (const [input, message] of bad) {
      expect(() => parseProxyConfig(input), message).toThrow(message);
    }
    try {
      parseProxyConfig({ hostname: '', tls: { mode: 'acme' }, allowList: [], upstreams: {} });
      expect.unreachable();
    } catch (error) {
      expect((error as { problems: string[] }).problems.length).toBeGreaterThanOrEqual(4);
    }
  });

  it('render.mjs exits 2 with the problems on bad settings and prints the Caddyfile on good ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xs-proxy-render-'));
    try {
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...base, allowList: [] }));
      const bad = spawnSync(process.execPath, [RENDER, '--config', join(dir, 'bad.json')], { encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('allowList: list at least one network');
      writeFileSync(join(dir, 'good.json'), JSON.stringify(base));
      const good = spawnSync(process.execPath, [RENDER, '--config', join(dir, 'good.json')], { encoding: 'utf8' });
      expect(good.status).toBe(0);
      expect(good.stdout).toBe(renderCaddyfile(base));
      expect(spawnSync(process.execPath, [RENDER], { encoding: 'utf8' }).status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
