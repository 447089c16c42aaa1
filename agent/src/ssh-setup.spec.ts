import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceSshSetup } from '@xspectre/contracts';
import {
  accountPlan,
  enrollSshSkipReason,
  fileChange,
  hasDropInInclude,
  INCLUDE_LINE,
  parsePasswdEntry,
  parseShadowPassword,
  renderPrincipals,
  renderSshdDropIn,
  renderSudoers,
  renderUserCa,
  SSH_SETUP_PATHS,
  withDropInInclude,
} from './ssh-setup.js';
import { enrolledHostKeyFile, parseSshHostKeyLine, readHostKeyOrNull, recordHostKeyFile } from './ssh/host-key.js';
import { describeSshFailure, describeSshSetup } from './ssh/enroll-ssh.js';
import { SshSetupError } from './ssh/apply.js';

const SETUP: DeviceSshSetup = {
  userCaPublicKey: `ssh-ed25519 ${'A'.repeat(68)} xspectre-user-ca`,
  principal: 'xspectre-device-0b7c1e52-8d4f-4c8e-9a51-3f2d6b7a9c10',
  account: 'xspectre-ops',
};

describe('the sshd drop-in', () => {
  it('is one Match block for xspectre-ops with the CA, the principals file and certificates only, closed by Match all', () => {
    const text = renderSshdDropIn();
    const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(lines).toEqual([
      'Match User xspectre-ops',
      '  TrustedUserCAKeys /etc/ssh/xspectre/user_ca.pub',
      '  AuthorizedPrincipalsFile /etc/ssh/xspectre/principals',
      '  AuthorizedKeysFile none',
      '  PasswordAuthentication no',
      '  KbdInteractiveAuthentication no',
      '  PubkeyAuthentication yes',
      'Match all',
    ]);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('trust files hold the CA line and the principal, one line each', () => {
    expect(renderUserCa({ ...SETUP, userCaPublicKey: `${SETUP.userCaPublicKey}\n` })).toBe(`${SETUP.userCaPublicKey}\n`);
    expect(renderPrincipals(SETUP)).toBe(`${SETUP.principal}\n`);
  });

  it('sudoers gives xspectre-ops passwordless sudo without a tty, and nothing else', () => {
    const rules = renderSudoers()
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(rules).toEqual(['Defaults:xspectre-ops !requiretty', 'xspectre-ops ALL=(ALL) NOPASSWD:ALL']);
  });
});

describe('the Include line', () => {
  it.each([
    ['Debian 12', 'Include /etc/ssh/sshd_config.d/*.conf\n\nKbdInteractiveAuthentication no\nUsePAM yes\n'],
    ['relative to /etc/ssh', 'Port 22\ninclude sshd_config.d/*.conf\n'],
    ['quoted, among other globs', 'Include /etc/ssh/extra.conf "/etc/ssh/sshd_config.d/*.conf"\n'],
    ['indented', '  Include\t/etc/ssh/sshd_config.d/*.conf\n'],
  ])('is found: %s', (_name, config) => {
    expect(hasDropInInclude(config)).toBe(true);
    expect(withDropInInclude(config)).toBe(config);
  });

  it.each([
    ['no Include at all (CentOS 7)', 'Port 22\nUsePAM yes\n'],
    ['commented out', '#Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n'],
    ['another directory', 'Include /etc/ssh/other.d/*.conf\n'],
    ['only inside a Match block', 'UsePAM yes\nMatch User backup\n  Include /etc/ssh/sshd_config.d/*.conf\n'],
  ])('is missing and prepended: %s', (_name, config) => {
    expect(hasDropInInclude(config)).toBe(false);
    const fixed = withDropInInclude(config);
    expect(fixed.endsWith(config)).toBe(true);
    expect(fixed.split('\n').filter((line) => !line.startsWith('#'))[0]).toBe(INCLUDE_LINE);
    expect(hasDropInInclude(fixed)).toBe(true);
    expect(withDropInInclude(fixed)).toBe(fixed); // once only
  });
});

describe('idempotence decisions', () => {
  const state = (content: string, mode = 0o644, uid = 0, gid = 0) => ({ content, mode, uid, gid });

  it('a file is written when missing or different, chmod/chown when only its permissions differ, else left alone', () => {
    expect(fileChange(null, 'a\n', 0o644)).toBe('write');
    expect(fileChange(state('b\n'), 'a\n', 0o644)).toBe('write');
    expect(fileChange(state('a\n', 0o664), 'a\n', 0o644)).toBe('permissions');
    expect(fileChange(state('a\n', 0o644, 1000), 'a\n', 0o644)).toBe('permissions');
    expect(fileChange(state('a\n', 0o100644), 'a\n', 0o644)).toBe('unchanged'); // stat's file-type bits
    expect(fileChange(state('a\n', 0o440), 'a\n', 0o440)).toBe('unchanged');
  });

  it('a missing account is created as a system account with password field * (not the locked !)', () => {
    const plan = accountPlan(null);
    expect(plan.kind).toBe('create');
    if (plan.kind !== 'create') return;
    expect(plan.args).toEqual(expect.arrayContaining(['--system', '--home-dir', '/var/lib/xspectre-ops', '--shell', '/bin/bash']));
    expect(plan.args[plan.args.indexOf('--password') + 1]).toBe('*');
    expect(plan.args.at(-1)).toBe('xspectre-ops');
  });

  it('an existing account changes only in what differs', () => {
    const good = { home: SSH_SETUP_PATHS.home, shell: '/bin/bash', password: '*' };
    expect(accountPlan(good)).toEqual({ kind: 'unchanged' });
    expect(accountPlan({ ...good, password: '!' })).toEqual({ kind: 'modify', args: ['--password', '*', 'xspectre-ops'] });
    expect(accountPlan({ ...good, shell: '/usr/sbin/nologin', password: null })).toEqual({
      kind: 'modify',
      args: ['--shell', '/bin/bash', '--password', '*', 'xspectre-ops'],
    });
    expect(accountPlan({ ...good, home: '/home/xspectre-ops' })).toEqual({
      kind: 'modify',
      args: ['--home', '/var/lib/xspectre-ops', 'xspectre-ops'],
    });
  });

  it('reads getent lines', () => {
    expect(parsePasswdEntry('xspectre-ops:x:998:998:xSPECTRE:/var/lib/xspectre-ops:/bin/bash\n')).toEqual({
      home: '/var/lib/xspectre-ops',
      shell: '/bin/bash',
    });
    expect(parsePasswdEntry('garbage')).toBeNull();
    expect(parseShadowPassword('xspectre-ops:*:19700:0:99999:7:::\n')).toBe('*');
  });
});

describe('enroll', () => {
  const base = { setup: SETUP, isRoot: true, hasSshd: true, hostKeyFile: SSH_SETUP_PATHS.hostKey };

  it("configures sshd only as root, with sshd, when the host key enrolled is this machine's sshd key", () => {
    expect(enrollSshSkipReason(base)).toBeNull();
    expect(enrollSshSkipReason({ ...base, setup: undefined })).toMatch(/no SSH setup/);
    expect(enrollSshSkipReason({ ...base, isRoot: false })).toMatch(/not run as root/);
    expect(enrollSshSkipReason({ ...base, hasSshd: false })).toMatch(/no OpenSSH server/);
    // A lab light device enrolls with its own key file: the host's sshd is not its sshd.
    expect(enrollSshSkipReason({ ...base, hostKeyFile: '/var/lib/lab/dev-1/ssh_host_ed25519_key.pub' })).toMatch(
      /not this machine's sshd key/,
    );
  });

  it('says what changed, that nothing did, or which step failed', () => {
    expect(describeSshSetup({ changes: [], sshd: 'sshd unchanged' })).toBe(
      'ssh: terminal and file sessions already configured (nothing changed)\n',
    );
    expect(describeSshSetup({ changes: ['created /etc/ssh/xspectre/principals'], sshd: 'reloaded ssh.service' })).toBe(
      'ssh: terminal and file sessions configured: created /etc/ssh/xspectre/principals; reloaded ssh.service\n',
    );
    expect(describeSshFailure(new SshSetupError('sudoers', 'sudo is not installed'))).toBe(
      'configuring SSH sessions failed at step "sudoers": sudo is not installed',
    );
  });
});

describe('the host key the inventory reports', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-hostkey-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is the key of the file enroll sent, without its comment; absent when the file is missing or not a key', async () => {
    const key = `ssh-ed25519 ${'B'.repeat(68)}`;
    const file = join(dir, 'host.pub');
    await writeFile(file, `${key} root@device\n`);
    expect(await enrolledHostKeyFile(dir)).toBe(SSH_SETUP_PATHS.hostKey); // enrolled before it was recorded
    await recordHostKeyFile(dir, file);
    expect(await enrolledHostKeyFile(dir)).toBe(file);
    expect(await readHostKeyOrNull(file)).toBe(key);
    expect(await readHostKeyOrNull(join(dir, 'missing.pub'))).toBeNull();
    await writeFile(file, 'not a key\n');
    expect(await readHostKeyOrNull(file)).toBeNull();
    expect(parseSshHostKeyLine(`${key}\nssh-rsa AAAA second line\n`)).toBe(key);
  });
});
