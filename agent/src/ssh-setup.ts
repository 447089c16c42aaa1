import { SSH_ACCOUNT, type DeviceSshSetup } from '@xspectre/contracts';

/**
 * Terminal and file sessions (issue 14): the API logs in over the overlay as `xspectre-ops` with a
 * short-lived certificate from its user CA. What this device's sshd needs for that is decided
 * here, purely; agent/src/ssh/apply.ts changes the host.
 */

/** Where everything goes. Fixed paths: sshd, sudo and useradd have their own, not ours. */
export const SSH_SETUP_PATHS = {
  sshd: '/usr/sbin/sshd',
  sshdConfig: '/etc/ssh/sshd_config',
  dropInDir: '/etc/ssh/sshd_config.d',
  dropIn: '/etc/ssh/sshd_config.d/50-xspectre.conf',
  trustDir: '/etc/ssh/xspectre',
  userCa: '/etc/ssh/xspectre/user_ca.pub',
  principals: '/etc/ssh/xspectre/principals',
  sudoersDir: '/etc/sudoers.d',
  sudoers: '/etc/sudoers.d/xspectre-ops',
  home: '/var/lib/xspectre-ops',
  shell: '/bin/bash',
  /** The host key enrollment reports: only this machine's sshd is configured, never another's. */
  hostKey: '/etc/ssh/ssh_host_ed25519_key.pub',
  sshdPidFile: '/run/sshd.pid',
  /** sshd -t refuses to run without its privilege separation directory (systemd creates it at start). */
  privsepDir: '/run/sshd',
} as const;

/** The Include line sshd needs for our drop-in (Debian and RHEL 9 have it; older distributions do not). */
export const INCLUDE_LINE = `Include ${SSH_SETUP_PATHS.dropInDir}/*.conf`;

/**
 * The drop-in. Everything sits in a `Match User xspectre-ops` block, so no other account's
 * login changes (root login stays as the device had it). OpenSSH 9.2 (Debian 12) accepts
 * TrustedUserCAKeys and AuthorizedPrincipalsFile inside Match (checked with `sshd -t`).
 * `Match all` ends the block, so whatever a later file adds stays global.
 */
export function renderSshdDropIn(paths: { userCa: string; principals: string } = SSH_SETUP_PATHS): string {
  return [
    '# Written by xspectre-agent (enroll, configure-ssh): terminal and file sessions from the',
    '# xSPECTRE Ops API. The account logs in only with a certificate of the API user CA naming',
    "# this device's principal; certificates carry source-address = the hub's overlay address.",
    '# Edits are overwritten by `bootstrap.sh --configure-ssh`.',
    `Match User ${SSH_ACCOUNT}`,
    `  TrustedUserCAKeys ${paths.userCa}`,
    `  AuthorizedPrincipalsFile ${paths.principals}`,
    '  AuthorizedKeysFile none',
    '  PasswordAuthentication no',
    '  KbdInteractiveAuthentication no',
    '  PubkeyAuthentication yes',
    'Match all',
    '',
  ].join('\n');
}

/** `/etc/sudoers.d/xspectre-ops` (0440): SFTP and the terminal run as root through it. */
export function renderSudoers(): string {
  return [
    '# Written by xspectre-agent: the account terminal and file sessions of the xSPECTRE Ops API use.',
    // Old RHEL sudoers set requiretty; SFTP through sudo has no terminal.
    `Defaults:${SSH_ACCOUNT} !requiretty`,
    `${SSH_ACCOUNT} ALL=(ALL) NOPASSWD:ALL`,
    '',
  ].join('\n');
}

export const renderUserCa = (setup: DeviceSshSetup) => `${setup.userCaPublicKey.trim()}\n`;
export const renderPrincipals = (setup: DeviceSshSetup) => `${setup.principal}\n`;

/**
 * Whether sshd_config includes our drop-in directory for every connection: an `Include` line
 * naming `sshd_config.d/*.conf` (absolute, or relative to /etc/ssh) before the first `Match`
 * (one inside a Match block applies only to what it matches).
 */
export function hasDropInInclude(sshdConfig: string): boolean {
  for (const raw of sshdConfig.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [keyword, ...args] = line.split(/\s+/);
    const key = keyword!.toLowerCase();
    if (key === 'match') return false;
    if (key === 'include' && args.some((arg) => isDropInGlob(arg.replace(/^"(.*)"$/, '$1')))) return true;
  }
  return false;
}

function isDropInGlob(arg: string): boolean {
  return arg === `${SSH_SETUP_PATHS.dropInDir}/*.conf` || arg === 'sshd_config.d/*.conf';
}

/** sshd_config with the Include line first (the first value obtained wins, so ours must come early). */
export function withDropInInclude(sshdConfig: string): string {
  if (hasDropInInclude(sshdConfig)) return sshdConfig;
  return `# Added by xspectre-agent: drop-ins (${SSH_SETUP_PATHS.dropIn}).\n${INCLUDE_LINE}\n\n${sshdConfig}`;
}

/** A file as it is on disk (null: missing). */
export interface FileState {
  content: string;
  mode: number;
  uid: number;
  gid: number;
}

export type FileChange = 'unchanged' | 'write' | 'permissions';

/** What a root-owned file needs: rewriting when its content differs, else at most chmod/chown. */
export function fileChange(current: FileState | null, content: string, mode: number): FileChange {
  if (current === null || current.content !== content) return 'write';
  if ((current.mode & 0o7777) !== mode || current.uid !== 0 || current.gid !== 0) return 'permissions';
  return 'unchanged';
}

/** The account as `getent passwd` and `getent shadow` show it (null: no such account). */
export interface AccountState {
  home: string;
  shell: string;
  /** The shadow password field; null when shadow is unreadable or has no entry. */
  password: string | null;
}

/** `name:x:uid:gid:gecos:home:shell` → home and shell; null when the line is not one passwd entry. */
export function parsePasswdEntry(line: string): { home: string; shell: string } | null {
  const fields = line.trim().split(':');
  if (fields.length !== 7) return null;
  return { home: fields[5]!, shell: fields[6]! };
}

/** `name:password:…` → the password field. */
export function parseShadowPassword(line: string): string | null {
  const fields = line.trim().split(':');
  return fields.length >= 2 ? fields[1]! : null;
}

export type AccountPlan = { kind: 'create'; args: string[] } | { kind: 'modify'; args: string[] } | { kind: 'unchanged' };

/**
 * useradd for a missing account; usermod for what differs in an existing one. The password field
 * is `*` (no password can match), not `!`: with UsePAM off, sshd treats `!` as a locked account
 * and refuses even certificate logins.
 */
export function accountPlan(current: AccountState | null, paths: { home: string; shell: string } = SSH_SETUP_PATHS): AccountPlan {
  if (current === null) {
    return {
      kind: 'create',
      args: [
        '--system',
        '--user-group',
        '--home-dir',
        paths.home,
        '--create-home',
        '--shell',
        paths.shell,
        '--password',
        '*',
        '--comment',
        'xSPECTRE Ops terminal and file sessions',
        SSH_ACCOUNT,
      ],
    };
  }
  const args: string[] = [];
  if (current.home !== paths.home) args.push('--home', paths.home);
  if (current.shell !== paths.shell) args.push('--shell', paths.shell);
  if (current.password !== '*') args.push('--password', '*');
  return args.length === 0 ? { kind: 'unchanged' } : { kind: 'modify', args: [...args, SSH_ACCOUNT] };
}

/** Why `enroll` leaves sshd alone, or null when it configures it. */
export function enrollSshSkipReason(input: {
  setup: DeviceSshSetup | undefined;
  isRoot: boolean;
  hasSshd: boolean;
  /** The host key file enroll reported (absolute). */
  hostKeyFile: string;
}): string | null {
  if (input.setup === undefined) return 'the API sent no SSH setup (it predates terminal sessions)';
  if (!input.isRoot) return 'enroll does not run as root';
  if (!input.hasSshd) return `there is no OpenSSH server here (${SSH_SETUP_PATHS.sshd})`;
  if (input.hostKeyFile !== SSH_SETUP_PATHS.hostKey)
    return `the host key enrolled (${input.hostKeyFile}) is not this machine's sshd key ${SSH_SETUP_PATHS.hostKey}`;
  return null;
}
