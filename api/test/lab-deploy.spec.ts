import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployHost, startLab, type Lab } from '@xspectre/lab';
import { enrollBody } from './support/fleet.js';
import { sharedReleaseTree } from './support/release-tree.js';

/**
 * The deploy command (infra/deploy/deploy.sh) on a fresh Debian bookworm host: a lab container
 * with systemd as PID 1 and the packages deploy.sh needs baked in (infra/lab/src/deploy-host.ts).
 * The lab run's release tree (support/release-tree.ts: infra/release/build.sh --no-build) is
 * copied in, and a second one made from it with another version string. install (private CA),
 * then upgrade and rollback, each checked through Caddy over HTTPS with the pinned key; bad
 * arguments first, which must change nothing. The deploy command's output goes to the log.
 */
const HOST_NAME = 'deploy-host';
const SERVICE_UNITS = ['xspectre-api', 'xspectre-api-agents', 'xspectre-worker', 'xspectre-console', 'xspectre-backup'];
const UNITS = [...SERVICE_UNITS, 'caddy', 'wg-quick@xs-hub0'];
const DEPLOY = '/root/release-1/infra/deploy/deploy.sh';

describe('deploy.sh on a fresh Debian host (systemd units with the backup server, private CA, upgrade, rollback)', () => {
  let lab: Lab | undefined;
  let host: DeployHost | undefined;
  let work: string;
  let releaseVersion = '';
  const log = (line: string) => console.log(`[lab-deploy] ${line}`);

  const h = () => {
    if (!host) throw new Error('no deploy host');
    return host;
  };
  const deploy = async (args: string[]) => {
    const result = await h().exec(['bash', DEPLOY, ...args], { timeoutMs: 15 * 60_000 });
    console.log(
      `\n$ deploy.sh ${args.join(' ')}   (exit ${result.exitCode})\n${result.stdout}${result.stderr ? `--- stderr ---\n${result.stderr}` : ''}`,
    );
    return result;
  };
  const sh = (script: string) => h().mustExec(['bash', '-c', script], { timeoutMs: 60_000 });
  const envValue = async (key: string) => (await h().mustExec(['sed', '-n', `s/^${key}=//p`, '/etc/xspectre/xspectre.env'])).trim();

  /** An HTTPS request through Caddy, from inside the host, trusting exactly the pinned key. */
  const https = async (method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
    const pin = await envValue('API_BOOTSTRAP_PIN');
    const args = ['curl', '-sS', '--max-time', '20', '--cacert', '/etc/xspectre/proxy-tls/ca.crt', '--pinnedpubkey', pin];
    args.push('--resolve', `${HOST_NAME}:443:127.0.0.1`, '-X', method, '-w', '\n%{http_code}');
    if (options.token) args.push('-H', `authorization: Bearer ${options.token}`);
    if (options.body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', '@-');
    args.push(`https://${HOST_NAME}/api/v1/${path}`);
    const result = await h().exec(args, {
      timeoutMs: 30_000,
      ...(options.body === undefined ? {} : { input: JSON.stringify(options.body) }),
    });
    if (result.exitCode !== 0) throw new Error(`curl ${method} ${path}: exit ${result.exitCode} ${result.stderr}`);
    const lines = result.stdout.split('\n');
    const status = Number(lines.pop());
    const text = lines.join('\n');
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status, body };
  };
  /** The HTTP status of a plain GET from inside the host (the overlay listeners Caddy does not front). */
  const httpStatus = async (url: string) =>
    (await h().exec(['curl', '-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', url])).stdout.trim();
  const login = async () => {
    const r = await https('POST', 'auth/login', {
      body: { email: await envValue('API_BOOTSTRAP_ADMIN_EMAIL'), password: await envValue('API_BOOTSTRAP_ADMIN_PASSWORD') },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.accessToken as string;
  };
  const currentRelease = async () => (await sh('basename "$(readlink /opt/xspectre/current)"')).trim();
  const expectRunning = async () => {
    for (const unit of UNITS) {
      const state = (await h().exec(['systemctl', 'is-active', `${unit}.service`])).stdout.trim();
      expect(state, unit).toBe('active');
    }
    const ready = await https('GET', 'health/ready');
    expect(ready.status).toBe(200);
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'xs-deploy-'));
    const release = await sharedReleaseTree(log);
    lab = await startLab({ log });
    host = await DeployHost.start(lab.id, log);
    await host.copyIn(release, '/root/release-1');
    // The second release: the same tree under another version string.
    await sh(
      'cp -a /root/release-1 /root/release-2 && /root/release-2/runtime/bin/node -e \'const f="/root/release-2/RELEASE.json"; const fs=require("fs"); const r=JSON.parse(fs.readFileSync(f)); r.version += "-next"; fs.writeFileSync(f, JSON.stringify(r))\'',
    );
    releaseVersion = JSON.parse(await h().mustExec(['cat', '/root/release-1/RELEASE.json'])).version;
  }, 30 * 60_000);

  afterAll(async () => {
    try {
      if (host) {
        // The units' warnings and errors (pino levels 40-60), not their route maps.
        const journal = await host.exec(['journalctl', '--no-pager', '-o', 'cat', '-u', 'xspectre-*']);
        const problems = journal.stdout.split('\n').filter((line) => /"level":[456]0/.test(line));
        log(`warnings and errors of the xspectre units (last 30):\n${problems.slice(-30).join('\n')}`);
        await host.remove();
      }
    } finally {
      await lab?.teardown();
      if (work) await rm(work, { recursive: true, force: true });
    }
  }, 5 * 60_000);

  it('refuses bad arguments with a clear message and changes nothing', async () => {
    const noRelease = await deploy(['install', '--private-ca']);
    expect(noRelease.exitCode).not.toBe(0);
    expect(noRelease.stderr).toMatch(/--release PATH is required/);
    const notATree = await deploy(['install', '--release', '/etc', '--private-ca']);
    expect(notATree.exitCode).not.toBe(0);
    expect(notATree.stderr).toMatch(/not a release tree/);
    const noRollback = await deploy(['rollback']);
    expect(noRollback.exitCode).not.toBe(0);
    expect(noRollback.stderr).toMatch(/no previous release/);
    // Nothing was installed or created.
    for (const path of ['/opt/xspectre', '/etc/xspectre', '/var/lib/xspectre', '/etc/systemd/system/xspectre-api.service']) {
      expect((await h().exec(['test', '-e', path])).exitCode, path).not.toBe(0);
    }
    expect((await h().exec(['id', 'xspectre'])).exitCode).not.toBe(0);
  }, 120_000);

  it(
    'installs: units active as user xspectre, root-only secrets, HTTPS with the pinned CA, API on loopback, hub peers managed',
    async () => {
      const result = await deploy([
        'install',
        '--release',
        '/root/release-1',
        '--private-ca',
        '--name',
        HOST_NAME,
        '--allow',
        '127.0.0.0/8',
        '--with-backup-server',
      ]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).not.toContain(await envValue('API_BOOTSTRAP_ADMIN_PASSWORD'));
      expect(result.stdout).not.toContain(await envValue('API_SECRET_KEY'));
      await expectRunning();
      expect(await currentRelease()).toMatch(new RegExp(`^${releaseVersion.replace(/\./g, '\\.')}-`));

      for (const unit of SERVICE_UNITS) {
        const pid = (await h().mustExec(['systemctl', 'show', '-p', 'MainPID', '--value', `${unit}.service`])).trim();
        expect(Number(pid), unit).toBeGreaterThan(0);
        expect((await h().mustExec(['ps', '-o', 'user=', '-p', pid])).trim(), unit).toBe('xspectre');
      }
      expect((await h().mustExec(['getent', 'passwd', 'xspectre'])).trim()).toMatch(/:\/usr\/sbin\/nologin$/);
      expect(
        (await h().mustExec(['stat', '-c', '%U:%G %a', '/etc/xspectre/xspectre.env', '/etc/xspectre/migrate.env'])).trim().split('\n'),
      ).toEqual(['root:root 600', 'root:root 600']);
      expect((await h().mustExec(['stat', '-c', '%U %a', '/var/lib/xspectre/keys'])).trim()).toBe('xspectre 700');

      // Listeners: the operators' API and the console on loopback only, the agents' API on the hub's overlay address.
      const listening = await h().mustExec(['ss', '-Hltn']);
      const local = listening
        .split('\n')
        .filter(Boolean)
        .map((line) => line.trim().split(/\s+/)[3] ?? '');
      for (const port of ['3000', '3001']) {
        const addresses = local.filter((a) => a.endsWith(`:${port}`)).map((a) => a.slice(0, -port.length - 1));
        expect(addresses.length, `port ${port}`).toBeGreaterThan(0);
        for (const address of addresses) expect(['127.0.0.1', '10.10.0.1'], `${address}:${port}`).toContain(address);
      }
      // The operators' instance on loopback, the devices' instance on the hub's overlay address, nothing on a wildcard.
      expect(local.filter((a) => a.endsWith(':3000')).sort()).toEqual(['10.10.0.1:3000', '127.0.0.1:3000']);
      expect(local.filter((a) => a.endsWith(':3001'))).toEqual(['127.0.0.1:3001']);
      // The backup server on the hub's overlay address only; it wants a repository token.
      expect(local.filter((a) => a.endsWith(':8420'))).toEqual(['10.10.0.1:8420']);
      const anonymous = await httpStatus('http://10.10.0.1:8420/00000000-0000-4000-8000-000000000001/config');
      expect(anonymous).toBe('401');
      // restic, which the API hands to devices without one.
      const restic = await httpStatus('http://10.10.0.1:3000/api/v1/agent/download/restic');
      expect(restic).toBe('200');

      // The operators' API over HTTPS with the pinned key.
      const token = await login();
      // Enrollment through the public surface: the API (user xspectre, CAP_NET_ADMIN only) adds the peer to the hub.
      const org = await https('POST', 'organizations', { token, body: { name: 'Deploy test', kind: 'customer' } });
      expect(org.status, JSON.stringify(org.body)).toBe(201);
      const site = await https('POST', 'sites', { token, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
      expect(site.status).toBe(201);
      const device = await https('POST', 'devices', {
        token,
        body: { name: 'deployed-1', organizationId: org.body.id, siteId: site.body.id, type: 'server' },
      });
      expect(device.status, JSON.stringify(device.body)).toBe(201);
      const body = enrollBody(device.body.claimCode.code);
      const enrolled = await https('POST', 'enroll', { body });
      expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
      expect(await h().mustExec(['wg', 'show', 'xs-hub0', 'peers'])).toContain(body.wgPublicKey);
    },
    15 * 60_000,
  );

  it(
    'upgrades (stop, migrate, start) keeping secrets and data, then rolls back',
    async () => {
      const first = await currentRelease();
      const envBefore = await h().mustExec(['sha256sum', '/etc/xspectre/xspectre.env', '/etc/xspectre/migrate.env']);
      const upgraded = await deploy(['upgrade', '--release', '/root/release-2']);
      expect(upgraded.exitCode).toBe(0);
      const second = await currentRelease();
      expect(second).toMatch(new RegExp(`^${releaseVersion.replace(/\./g, '\\.')}-next-`));
      expect(await h().mustExec(['sha256sum', '/etc/xspectre/xspectre.env', '/etc/xspectre/migrate.env'])).toBe(envBefore);
      await expectRunning();
      const token = await login();
      const devices = await https('GET', 'devices?limit=50', { token });
      expect(devices.status).toBe(200);
      expect(JSON.stringify(devices.body)).toContain('deployed-1');

      const again = await deploy(['upgrade', '--release', '/root/release-2']);
      expect(again.exitCode).not.toBe(0);
      expect(again.stderr).toMatch(/already the current release/);

      const status = await deploy(['status']);
      expect(status.exitCode).toBe(0);
      expect(status.stdout).toContain(`current:  ${second}`);

      const rolledBack = await deploy(['rollback']);
      expect(rolledBack.exitCode).toBe(0);
      expect(await currentRelease()).toBe(first);
      await expectRunning();
      await login();
      expect(await h().mustExec(['sha256sum', '/etc/xspectre/xspectre.env', '/etc/xspectre/migrate.env'])).toBe(envBefore);
    },
    15 * 60_000,
  );
});
