import { join } from 'node:path';
import { RECOVERY_SSH_ACCOUNT, RecoverySshSetupSchema, recoveryPrincipalOf, type RecoverySshSetup } from '@xspectre/contracts';

/**
 * The recovery shell's sshd (issue 16 item 6), decided purely here; ssh-server.ts changes the host.
 * One sshd per boot, its files in the RAM run directory: a host key generated at boot, the API's
 * user CA and the stick's one principal (`xspectre-recovery-<medium id>`), listening on the stick's
 * overlay address only, root by certificate only.
 */

export interface RecoverySshPaths {
  dir: string;
  config: string;
  hostKey: string;
  hostKeyPublic: string;
  userCa: string;
  principals: string;
  pidFile: string;
}

export const SSHD_PATH = '/usr/sbin/sshd';
export const SSH_KEYGEN_PATH = '/usr/bin/ssh-keygen';
export const SSH_PORT = 22;

/** Everything under `<runDir>/ssh` (0700). */
export function recoverySshPaths(runDir: string): RecoverySshPaths {
  const dir = join(runDir, 'ssh');
  return {
    dir,
    config: join(dir, 'sshd_config'),
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    hostKeyPublic: join(dir, 'ssh_host_ed25519_key.pub'),
    userCa: join(dir, 'user_ca.pub'),
    principals: join(dir, 'principals'),
    pidFile: join(dir, 'sshd.pid'),
  };
}

export class RecoverySshConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoverySshConfigError';
  }
}

/** An sshd_config argument must be one token: absolute, no whitespace, quotes, `#` or control characters. */
function configPath(name: string, path: string): string {
  if (!path.startsWith('/') || path.length > 512 || /[\s"'#\\\p{Cc}]/u.test(path) || path.split('/').includes('..'))
    throw new RecoverySshConfigError(`${name} must be an absolute path without spaces, quotes or control characters`);
  return path;
}

/** The overlay address recovery.conf names (`10.10.0.240/32`) without its prefix, checked octet by octet. */
export function listenAddressOf(wgAddress: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/32)?$/.exec(wgAddress);
  if (!match || match.slice(1).some((octet) => Number(octet) > 255))
    throw new RecoverySshConfigError('the overlay address must be an IPv4 address (with /32)');
  return match.slice(1, 5).map(Number).join('.');
}

/**
 * The API's `ssh` answer, checked: the contract, and the principal of this stick (a setup naming
 * another medium's principal would let that stick's certificates in here).
 */
export function checkRecoverySshSetup(raw: unknown, mediumId: string): RecoverySshSetup {
  const parsed = RecoverySshSetupSchema.safeParse(raw);
  if (!parsed.success) throw new RecoverySshConfigError("the API's ssh setup does not follow the contract");
  if (parsed.data.principal !== recoveryPrincipalOf(mediumId))
    throw new RecoverySshConfigError(`the API's ssh setup names the principal of another stick (${parsed.data.principal})`);
  return parsed.data;
}

/**
 * sshd_config for this boot. Root logs in only with a certificate of the API's user CA naming this
 * stick's principal (the certificate's own source-address option limits it to the hub); nothing
 * else authenticates, nothing is forwarded.
 */
export function renderRecoverySshdConfig(listenAddress: string, paths: RecoverySshPaths): string {
  const address = listenAddressOf(listenAddress);
  return [
    '# Written by xspectre-recovery for this boot: the recovery shell of the xSPECTRE Ops API.',
    `ListenAddress ${address}:${SSH_PORT}`,
    `HostKey ${configPath('HostKey', paths.hostKey)}`,
    `PidFile ${configPath('PidFile', paths.pidFile)}`,
    `AllowUsers ${RECOVERY_SSH_ACCOUNT}`,
    'PermitRootLogin prohibit-password',
    'AuthenticationMethods publickey',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'HostbasedAuthentication no',
    'PermitEmptyPasswords no',
    'UsePAM no',
    'AuthorizedKeysFile none',
    `TrustedUserCAKeys ${configPath('TrustedUserCAKeys', paths.userCa)}`,
    `AuthorizedPrincipalsFile ${configPath('AuthorizedPrincipalsFile', paths.principals)}`,
    'PermitUserEnvironment no',
    'AllowTcpForwarding no',
    'AllowStreamLocalForwarding no',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTunnel no',
    'GatewayPorts no',
    'ClientAliveInterval 15',
    'ClientAliveCountMax 4',
    'MaxAuthTries 2',
    'LoginGraceTime 30',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

export const renderRecoveryUserCa = (setup: RecoverySshSetup) => `${setup.userCaPublicKey.trim()}\n`;
export const renderRecoveryPrincipals = (setup: RecoverySshSetup) => `${setup.principal}\n`;

/** The `.pub` file ssh-keygen wrote → `ssh-ed25519 AAAA…` (no comment); null when it is not one. */
export function parseEd25519PublicKey(text: string): string | null {
  const [type, key] = (text.split('\n')[0] ?? '').trim().split(/\s+/);
  const line = `${type ?? ''} ${key ?? ''}`;
  return /^ssh-ed25519 [A-Za-z0-9+/]{68}$/.test(line) ? line : null;
}
