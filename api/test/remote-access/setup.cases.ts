import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import type { ContextGetter } from '../support/remote-access-context.js';

const DROP_IN = '/etc/ssh/sshd_config.d/50-xspectre.conf';
/** Every file the agent writes for sessions, with mode, owner and content hash (what "changes nothing" compares). */
const SETUP_FILES = [
  '/etc/sudoers.d/xspectre-ops',
  '/etc/ssh/xspectre/user_ca.pub',
  '/etc/ssh/xspectre/principals',
  DROP_IN,
  '/etc/ssh/sshd_config',
];

/**
 * What bootstrap.sh (xspectre-agent enroll, as root) did to the device's sshd, and
 * `bootstrap.sh --configure-ssh` (xspectre-agent configure-ssh) run again on it.
 */
export function setupCases(get: ContextGetter): void {
  const exec = async (file: string, args: string[]) => get().device.container.exec(file, args, { timeoutMs: 120_000 });
  const ok = async (file: string, args: string[]) => {
    const result = await exec(file, args);
    expect(result.exitCode, `${file} ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const configureSsh = () =>
    exec('bash', ['/root/bootstrap.sh', '--configure-ssh', '--api', get().ra.lab.underlayApiUrl, '--insecure-http']);
  const snapshot = () =>
    ok('stat', ['-c', '%n %a %U:%G %Y %s', ...SETUP_FILES]).then(async (stat) => `${stat}${await ok('sha256sum', SETUP_FILES)}`);
  const effective = (user: string) => ok('/usr/sbin/sshd', ['-T', '-C', `user=${user},host=h,addr=10.10.0.1`]);

  it('creates xspectre-ops (password field *, not locked) with passwordless sudo', async () => {
    expect(await ok('id', ['-un', 'xspectre-ops'])).toBe('xspectre-ops\n');
    const passwd = (await ok('getent', ['passwd', 'xspectre-ops'])).trim().split(':');
    expect(passwd.slice(5)).toEqual(['/var/lib/xspectre-ops', '/bin/bash']);
    expect((await ok('getent', ['shadow', 'xspectre-ops'])).split(':')[1]).toBe('*');
    await ok('sudo', ['-n', '-u', 'xspectre-ops', 'sudo', '-n', 'true']);
    expect(await ok('stat', ['-c', '%a %U', '/etc/sudoers.d/xspectre-ops'])).toBe('440 root\n');
  });

  it("trusts the API's user CA for this device's principal only, for xspectre-ops only", async () => {
    const { device } = get();
    expect(await ok('cat', ['/etc/ssh/xspectre/principals'])).toBe(`xspectre-device-${device.id}\n`);
    expect(await ok('cat', ['/etc/ssh/xspectre/user_ca.pub'])).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]{68} xspectre-user-ca\n$/);
    expect(await ok('stat', ['-c', '%a %U', '/etc/ssh/xspectre', '/etc/ssh/xspectre/principals'])).toBe('755 root\n644 root\n');

    const ops = await effective('xspectre-ops');
    for (const line of [
      'trustedusercakeys /etc/ssh/xspectre/user_ca.pub',
      'authorizedprincipalsfile /etc/ssh/xspectre/principals',
      'authorizedkeysfile none',
      'passwordauthentication no',
      'kbdinteractiveauthentication no',
      'pubkeyauthentication yes',
    ])
      expect(ops.split('\n')).toContain(line);
    // Root login stays as the device had it; no other account trusts the CA.
    expect((await effective('root')).split('\n')).toContain('trustedusercakeys none');
  });

  it('bootstrap.sh --configure-ssh on a configured device changes nothing and exits 0', async () => {
    const before = await snapshot();
    const result = await configureSsh();
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('already configured (nothing changed)');
    expect(await snapshot()).toBe(before);
  });

  it('bootstrap.sh --configure-ssh repairs a deleted drop-in and reloads sshd', async () => {
    await ok('rm', ['-f', DROP_IN]);
    expect((await effective('xspectre-ops')).split('\n')).toContain('trustedusercakeys none');
    const result = await configureSsh();
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain(`created ${DROP_IN}`);
    expect(result.stdout).toMatch(/reloaded sshd?\.service/);
    expect((await effective('xspectre-ops')).split('\n')).toContain('trustedusercakeys /etc/ssh/xspectre/user_ca.pub');
    await ok('systemctl', ['is-active', 'ssh.service']);
  });

  it("the inventory the API stores carries the device's ed25519 host key", async () => {
    const { ra, device } = get();
    const [type, key] = (await ok('cat', ['/etc/ssh/ssh_host_ed25519_key.pub'])).trim().split(/\s+/);
    let reported: string | undefined;
    // The agent sends its inventory with its first heartbeats (every 5 s in this lab).
    for (let attempt = 0; attempt < 60 && reported === undefined; attempt++) {
      const inventory = await ra.api.request('GET', `devices/${device.id}/inventory`, { token: ra.admin });
      expect(inventory.status).toBe(200);
      reported = inventory.body.current?.inventory.sshHostKey as string | undefined;
      if (reported === undefined) await sleep(1000);
    }
    expect(reported).toBe(`${type} ${key}`);
  });
}
