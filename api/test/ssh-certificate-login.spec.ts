import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateLogin, generateSessionKey } from '../src/ssh/certificate-login.js';
import { issueUserCertificate, opensshPublicKey } from '../src/ssh/openssh-certificate.js';
import { openRootSftp } from '../src/ssh/root-sftp.js';

const SSHD = '/usr/sbin/sshd';
const PRINCIPAL = 'xspectre-device-00000000-0000-4000-8000-000000000001';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * ssh2 has no OpenSSH certificate login (api/src/ssh/certificate-login.ts adds it): proved here
 * against OpenSSH's own sshd (Debian's, started by this test on a loopback port with a
 * configuration of its own; the machine's sshd, if any, is untouched). The lab test
 * (lab-remote-access.spec.ts) then does the same over WireGuard to device containers whose sshd
 * bootstrap.sh configured.
 */
describe('OpenSSH certificate login with ssh2 (real sshd)', () => {
  let dir: string;
  let port: number;
  let sshd: ChildProcess | undefined;
  let ca: { privateKey: KeyObject };
  let hostKeyLine: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-sshd-'));
    port = await freePort();
    ca = generateKeyPairSync('ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
    hostKeyLine = (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim();
    await writeFile(join(dir, 'user_ca.pub'), `${opensshPublicKey(ca.privateKey, 'test-ca')}\n`);
    await mkdir(join(dir, 'principals'));
    await writeFile(join(dir, 'principals', 'root'), `${PRINCIPAL}\n`);
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    await writeFile(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_key')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'UsePAM no',
        // The test's files live under /tmp (world-writable): the product's live under /etc/ssh with strict modes.
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'AuthorizedKeysFile none',
        `TrustedUserCAKeys ${join(dir, 'user_ca.pub')}`,
        `AuthorizedPrincipalsFile ${join(dir, 'principals')}/%u`,
        'LogLevel VERBOSE',
        'Subsystem sftp /usr/lib/openssh/sftp-server',
        '',
      ].join('\n'),
    );
    sshd = spawn(SSHD, ['-D', '-f', join(dir, 'sshd_config'), '-E', join(dir, 'sshd.log')], { stdio: 'ignore' });
    // Ready when it accepts TCP connections.
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const probe = connect(port, '127.0.0.1');
        probe.once('connect', () => {
          probe.destroy();
          resolve(true);
        });
        probe.once('error', () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`sshd did not start: ${await readFile(join(dir, 'sshd.log'), 'utf8').catch(() => '')}`);
  }, 30_000);

  afterAll(async () => {
    sshd?.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  function certificate(overrides: Partial<Parameters<typeof issueUserCertificate>[0]> = {}) {
    const session = generateSessionKey();
    const now = Date.now();
    const { blob } = issueUserCertificate({
      publicKey: session.publicKey,
      caKey: ca.privateKey,
      keyId: 'xspectre session 11111111-2222-4333-8444-555555555555 by op@example.com',
      principals: [PRINCIPAL],
      validAfter: new Date(now - 60_000),
      validBefore: new Date(now + 300_000),
      sourceAddress: '127.0.0.1/32',
      ...overrides,
    });
    return { privateKey: session.privateKey, certificate: blob };
  }

  /** Logs in as root with the certificate; resolves the ready client or rejects with ssh2's error. */
  function login(cert: { privateKey: ssh2.ParsedKey; certificate: Buffer }): Promise<ssh2.Client> {
    const client = new ssh2.Client();
    return new Promise((resolve, reject) => {
      client.once('ready', () => resolve(client));
      client.once('error', reject);
      client.connect({
        host: '127.0.0.1',
        port,
        username: 'root',
        readyTimeout: 10_000,
        hostVerifier: (key: Buffer) => key.equals(Buffer.from(hostKeyLine.split(' ')[1]!, 'base64')),
        authHandler: certificateLogin(client, { username: 'root', ...cert }) as never,
      });
    });
  }

  function run(client: ssh2.Client, command: string): Promise<string> {
    return new Promise((resolve, reject) =>
      client.exec(command, (error, stream) => {
        if (error) return reject(error);
        let out = '';
        stream.on('data', (d: Buffer) => (out += d.toString('utf8'))).on('close', () => resolve(out));
      }),
    );
  }

  it('logs in with a certificate from the CA, and sshd logs the key id naming operator and session', async () => {
    const client = await login(certificate());
    expect((await run(client, 'id -un')).trim()).toBe('root');
    client.end();
    const log = await readFile(join(dir, 'sshd.log'), 'utf8');
    expect(log).toMatch(
      /Accepted publickey for root .* ED25519-CERT .* ID xspectre session 11111111-2222-4333-8444-555555555555 by op@example\.com/,
    );
  });

  it('opens SFTP as root through sudo on an exec channel', async () => {
    const client = await login(certificate());
    const sftp = await openRootSftp(client, 10_000);
    const entries = await new Promise<string[]>((resolve, reject) =>
      sftp.readdir(dir, (error, list) => (error ? reject(error) : resolve(list.map((e) => e.filename)))),
    );
    expect(entries).toContain('sshd_config');
    client.end();
  });

  it.each([
    ['another source address (source-address)', { sourceAddress: '127.0.0.2/32' }],
    ['an expired certificate', { validAfter: new Date(Date.now() - 3_600_000), validBefore: new Date(Date.now() - 1_800_000) }],
    ['another principal (a certificate for another device)', { principals: ['xspectre-device-00000000-0000-4000-8000-000000000002'] }],
    ['a certificate signed by another CA', { caKey: generateKeyPairSync('ed25519').privateKey }],
  ])('refuses %s', async (_name, overrides) => {
    await expect(login(certificate(overrides))).rejects.toMatchObject({ level: 'client-authentication' });
  });
});
