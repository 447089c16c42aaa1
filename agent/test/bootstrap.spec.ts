import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const agentDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(agentDir, 'bootstrap.sh');
const unit = join(agentDir, 'systemd', 'xspectre-agent.service');
const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;

const bootstrap = (args: string[], prefix: string[] = []) => {
  const [cmd, ...rest] = [...prefix, 'bash', script, ...args];
  return spawnSync(cmd!, rest, { encoding: 'utf8', env: { PATH: process.env.PATH } });
};

describe('bootstrap.sh', () => {
  // shellcheck is one of the lab packages that npm test installs; a missing one fails here.
  it('is shellcheck clean', () => {
    const result = spawnSync('shellcheck', [script], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('installs exactly the unit file in agent/systemd', () => {
    const text = readFileSync(script, 'utf8');
    const embedded = /cat >"\$UNIT_FILE" <<'UNIT'\n([\s\S]*?)\nUNIT\n/.exec(text)?.[1];
    expect(`${embedded}\n`).toBe(readFileSync(unit, 'utf8'));
  });

  it('exits 2 on usage errors and 10 when not root', () => {
    expect(bootstrap(['--bogus']).status).toBe(2);
    const noApi = bootstrap(['--claim', 'ABCD']);
    expect(noApi.status).toBe(2);
    expect(noApi.stderr).toContain('--api is required');
    expect(bootstrap(['--api', 'ftp://x']).status).toBe(2);
    expect(bootstrap(['--help']).status).toBe(0);
    if (hasSetpriv && process.getuid?.() === 0) {
      const notRoot = bootstrap(
        ['--claim', 'ABCD', '--api', 'http://127.0.0.1:9/api/v1'],
        ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
      );
      expect(notRoot.status).toBe(10);
      expect(notRoot.stderr).toContain('run as root');
    }
  });

  it('never traces commands (secrets would show) and never evaluates strings', () => {
    const text = readFileSync(script, 'utf8');
    expect(text).not.toMatch(/^\s*set -[a-z]*x/m);
    expect(text).not.toMatch(/\beval\b/);
    expect(text).toMatch(/^set -euo pipefail$/m);
  });
});

describe('xspectre-agent.service', () => {
  it('is hardened and restarts', () => {
    const text = readFileSync(unit, 'utf8');
    for (const line of [
      'Type=simple',
      'ExecStart=/usr/local/bin/xspectre-agent run',
      'Restart=always',
      'RestartSec=5',
      'After=network-online.target wg-quick@wg0.service',
      'Wants=network-online.target',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/xspectre',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'ProtectKernelTunables=yes',
      'ProtectControlGroups=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      'StateDirectory=xspectre',
      'ConfigurationDirectory=xspectre',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
  });
});
