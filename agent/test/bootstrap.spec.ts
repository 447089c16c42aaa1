import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMAND_ACTIONS } from '@xspectre/contracts';
import { loadLocalPolicy } from '../src/commands/policy.js';

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
        ['--claim', 'ABCD', '--api', 'http://127.0.0.1:9/api/v1', '--insecure-http'],
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

describe('bootstrap.sh: TLS only (--insecure-http, --pin)', () => {
  const PIN = `sha256//${'A'.repeat(43)}=`;
  /** Sources the script, parses these flags and prints the curl TLS options it would use. */
  const curlOptions = (flags: string[]) =>
    spawnSync('bash', ['--norc', '-c', 'source "$1"; shift; parse_args "$@"; printf "%s\\n" "${CURL_TLS[@]}"', '_', script, ...flags], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('refuses an http:// --api or --agent-url without --insecure-http, and says why (exit 2)', () => {
    const plain = bootstrap(['--claim', 'ABCD', '--api', 'http://127.0.0.1:9/api/v1']);
    expect(plain.status).toBe(2);
    expect(plain.stderr).toContain('is plain HTTP: the claim code and the agent would cross the network in clear');
    expect(plain.stderr).toContain('--insecure-http');
    const agentUrl = bootstrap(['--claim', 'ABCD', '--api', 'https://ops.example/api/v1', '--agent-url', 'http://mirror.example/agent']);
    expect(agentUrl.status).toBe(2);
    expect(agentUrl.stderr).toContain('--agent-url http://mirror.example/agent is plain HTTP');
  });

  it('forbids leaving https (also by redirect) and pins every download with --pin', () => {
    const pinned = curlOptions(['--api', 'https://ops.example/api/v1', '--pin', PIN]);
    expect(pinned.stderr).toBe('');
    expect(pinned.stdout.trim().split('\n')).toEqual(['--proto', '=https', '--proto-redir', '=https', '--insecure', '--pinnedpubkey', PIN]);
    expect(curlOptions(['--api', 'https://ops.example/api/v1']).stdout.trim().split('\n')).toEqual([
      '--proto',
      '=https',
      '--proto-redir',
      '=https',
    ]);
    expect(curlOptions(['--api', 'http://127.0.0.1:9/api/v1', '--insecure-http']).stdout.trim()).toBe('');
    // Every curl in the script carries them.
    const curls = readFileSync(script, 'utf8').match(/^\s*(?:if ! |! )?curl .*$/gm) ?? [];
    expect(curls.length).toBe(4);
    for (const line of curls) expect(line).toContain('"${CURL_TLS[@]}"');
  });

  it('refuses a malformed pin, and a pin over plain HTTP (exit 2)', () => {
    for (const bad of ['sha256//short=', `sha1//${'A'.repeat(43)}=`, `${PIN};x`, 'AAAA']) {
      const result = bootstrap(['--claim', 'ABCD', '--api', 'https://ops.example/api/v1', '--pin', bad]);
      expect(result.status, bad).toBe(2);
      expect(result.stderr).toContain('--pin must be sha256//');
    }
    const overHttp = bootstrap(['--claim', 'ABCD', '--api', 'http://127.0.0.1:9/api/v1', '--insecure-http', `--pin=${PIN}`]);
    expect(overHttp.status).toBe(2);
    expect(overHttp.stderr).toContain('--pin needs an https:// --api');
  });

  it("hands the pin to the agent's enrollment too (Node's HTTPS client, not curl)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'xs-bootstrap-pin-'));
    try {
      const argsFile = join(dir, 'args');
      // The script's enroll() with the agent replaced by a shell function of the same name
      // (AGENT_BIN is read-only) that records its arguments.
      const enrollWith = (flags: string[]) => {
        const result = spawnSync(
          'bash',
          [
            '--norc',
            '-c',
            'source "$1"; shift; export ARGS_OUT="$1"; shift; parse_args "$@"; ' +
              String.raw`eval "function $AGENT_BIN { printf '%s\n' \"\$@\" > \"\$ARGS_OUT\"; }"; enroll`,
            '_',
            script,
            argsFile,
            ...flags,
          ],
          { encoding: 'utf8', env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        expect(result.status, result.stderr).toBe(0);
        return readFileSync(argsFile, 'utf8').trim().split('\n');
      };
      const pinned = enrollWith(['--claim', 'ABCD', '--api', 'https://ops.example/api/v1', '--pin', PIN]);
      expect(pinned.slice(pinned.indexOf('--pin'), pinned.indexOf('--pin') + 2)).toEqual(['--pin', PIN]);
      expect(enrollWith(['--claim', 'ABCD', '--api', 'https://ops.example/api/v1'])).not.toContain('--pin');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bootstrap.sh: the local policy (--allow-actions, --deny-actions)', () => {
  /** Sources the script (main does not run) and writes the policy to `path` with these flags. */
  const writePolicy = (path: string, flags: string[]) =>
    spawnSync(
      'bash',
      [
        '--norc',
        '-c',
        'source "$1"; shift; path="$1"; shift; parse_args --api http://127.0.0.1:9/api/v1 --insecure-http "$@"; write_policy "$path"',
        '_',
        script,
        path,
        ...flags,
      ],
      // stdin not a socket: bash would read ~/.bashrc for `-c` (its remote-shell heuristic)
      { encoding: 'utf8', env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] },
    );

  it('writes validated JSON the agent reads, 0644, atomically, and leaves an unchanged file alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xspectre-bootstrap-policy-'));
    try {
      const path = join(dir, 'etc', 'xspectre', 'policy.json');
      const first = writePolicy(path, ['--allow-actions', 'service.restart,diagnostics.collect', '--deny-actions=reboot']);
      expect(first.stderr).toBe('');
      expect(first.status).toBe(0);
      expect(readFileSync(path, 'utf8')).toBe('{"allow":["service.restart","diagnostics.collect"],"deny":["reboot"]}\n');
      expect(statSync(path).mode & 0o777).toBe(0o644);
      if (process.getuid?.() === 0) expect(statSync(path).uid).toBe(0);
      expect(await loadLocalPolicy(path)).toEqual({
        ok: true,
        absent: false,
        policy: { allow: ['service.restart', 'diagnostics.collect'], deny: ['reboot'] },
      });
      const before = statSync(path).mtimeMs;
      const again = writePolicy(path, ['--allow-actions', 'service.restart,diagnostics.collect', '--deny-actions=reboot']);
      expect(again.stdout).toContain('unchanged');
      expect(statSync(path).mtimeMs).toBe(before);

      // The given flags replace the whole file; `*` is a name too.
      expect(writePolicy(path, ['--deny-actions', '*']).status).toBe(0);
      expect(await loadLocalPolicy(path)).toEqual({ ok: true, absent: false, policy: { deny: ['*'] } });
      // No action flag: the file is not touched.
      expect(writePolicy(path, []).status).toBe(0);
      expect(readFileSync(path, 'utf8')).toBe('{"deny":["*"]}\n');
      expect(writePolicy(join(dir, 'other.json'), []).status).toBe(0);
      expect(() => statSync(join(dir, 'other.json'))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses names that are not action names (exit 2) and warns about names it does not know', () => {
    for (const bad of [
      'Reboot',
      'service restart',
      'a,,b',
      '"x"',
      'x\\y',
      '../x',
      'service-',
      'scanner.-restart',
      'scanner.feed--update',
    ]) {
      const result = bootstrap(['--api', 'http://127.0.0.1:9/api/v1', '--insecure-http', '--deny-actions', bad]);
      expect(result.status, bad).toBe(2);
      expect(result.stderr).toContain('is not an action name');
    }
    expect(bootstrap(['--api', 'http://127.0.0.1:9/api/v1', '--insecure-http', '--allow-actions']).status).toBe(2);
    // A dash inside a word is part of an action name (scanner.feed-update).
    const dashed = bootstrap([
      '--api',
      'http://127.0.0.1:9/api/v1',
      '--insecure-http',
      '--deny-actions',
      'scanner.feed-update,scanner.provision-monitor',
    ]);
    expect(dashed.stderr).not.toContain('is not an action name');
    expect(dashed.stderr).not.toContain('not an action this agent knows');
    const dir = mkdtempSync(join(tmpdir(), 'xspectre-bootstrap-policy-'));
    try {
      const result = writePolicy(join(dir, 'policy.json'), ['--allow-actions', 'firmware.flash']);
      expect(result.status).toBe(0);
      expect(result.stderr).toContain("'firmware.flash' is not an action this agent knows today");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('knows exactly the actions of the contract', () => {
    const known = /^readonly KNOWN_ACTIONS="([^"]*)"$/m.exec(readFileSync(script, 'utf8'))?.[1];
    expect(known?.split(' ')).toEqual(COMMAND_ACTIONS);
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

describe('bootstrap.sh: restic where the distribution has none', () => {
  // The API's two routes (api/test/agent-downloads.spec.ts tests them); here only what the script does with their answers.
  it("installs the API's restic only when its SHA-256 matches and it runs; otherwise warns and goes on", async () => {
    const resticPath = spawnSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).stdout.trim();
    const real = readFileSync(resticPath);
    let sum = createHash('sha256').update(real).digest('hex');
    const server = createServer((req, res) => {
      if (req.url === '/api/v1/agent/download/restic') return res.end(real);
      if (req.url === '/api/v1/agent/download/restic.sha256') return res.end(`${sum}  restic\n`);
      res.writeHead(404).end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
    const dir = mkdtempSync(join(tmpdir(), 'xspectre-bootstrap-restic-'));
    const ensure = (apiUrl: string, dest: string) =>
      promisify(execFile)(
        'bash',
        [
          '--norc',
          '-c',
          // No restic on this "machine" and none packaged: the API's copy is the way left.
          'source "$1"; have_restic() { return 1; }; pkg_available() { return 1; }; API="$2"; RESTIC_DEST="$3"; ensure_restic',
          '_',
          script,
          apiUrl,
          dest,
        ],
        { encoding: 'utf8', env: { PATH: process.env.PATH } },
      );
    try {
      const installed = await ensure(api, join(dir, 'restic'));
      expect(installed.stdout).toContain(`restic installed at ${join(dir, 'restic')}`);
      expect(statSync(join(dir, 'restic')).mode & 0o777).toBe(0o755);
      expect(spawnSync(join(dir, 'restic'), ['version'], { encoding: 'utf8' }).stdout).toMatch(/^restic \d/);

      sum = '0'.repeat(64);
      const mismatch = await ensure(api, join(dir, 'restic-bad'));
      expect(mismatch.stderr).toContain("does not match the API's SHA-256");
      expect(existsSync(join(dir, 'restic-bad'))).toBe(false);

      const unreachable = await ensure('http://127.0.0.1:9/api/v1', join(dir, 'restic-none'));
      expect(unreachable.stderr).toContain('file backups stay off on this device');
      expect(existsSync(join(dir, 'restic-none'))).toBe(false);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
