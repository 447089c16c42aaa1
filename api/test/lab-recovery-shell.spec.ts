import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_MAIN, AGENT_NODE_FLAGS, startLab, type Lab, type LightDevice } from '@xspectre/lab';
import { recoveryPrincipalOf, type TerminalTicket } from '@xspectre/contracts';
import { RecoveryService } from '../src/recovery/recovery.service.js';
import { certificateLogin } from '../src/ssh/certificate-login.js';
import { SshCertificateAuthority, sshKeyFingerprint } from '../src/ssh/ssh-certificate-authority.js';
import { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollDeviceAt } from './support/fleet.js';
import { FIXTURE_CONFIG_OFFSET, buildRecoveryImageFixture } from './support/recovery-image.js';
import { stepUp } from './support/step-up.js';
import { TerminalClient } from './support/terminal-client.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The recovery shell (issue 16 item 6) end to end: a recovery medium created through the real API,
 * its recovery.conf read back from the personalised image, and `node agent/dist/main.js recovery
 * run` in a lab namespace of its own (the "stick"), reaching the API only over its own WireGuard
 * tunnel through the lab hub: register → RECOVERY MODE with this boot's sshd host key, the real
 * OpenSSH sshd the agent configured and supervises, and the API's terminal path (ticket →
 * WebSocket → ssh2 with a certificate for the stick's principal) into it. Nothing is imaged: no
 * recovery command is ever queued (the namespace sees the host's /sys/block).
 */
describe('recovery shell on a booted recovery stick', () => {
  let lab: Lab;
  let api: TestApi;
  let admin: string;
  let soc: string;
  let fixture: Awaited<ReturnType<typeof buildRecoveryImageFixture>>;
  let work: string;
  let stick: LightDevice;
  let device: { id: string };
  let medium: { id: string; overlayAddress: string };
  let runDir: string;
  let hostKey: string;

  const mediaOf = async (deviceId: string) => {
    const r = await api.request('GET', `devices/${deviceId}/recovery-media`, { token: admin });
    expect(r.status, r.text).toBe(200);
    return r.body.media as Array<Record<string, any>>;
  };
  /** The recovery agent's output (the lab keeps it in the device's directory). */
  const agentLog = async () => {
    if (!stick) return '';
    const read = (name: string) => readFile(join(stick.configDir, name), 'utf8').catch(() => '');
    return `${await read('recovery.log')}${await read('recovery-2.log')}`;
  };
  /** Waits until `check` answers (polling the API or the stick's files); the failure says what the agent printed. */
  const until = async <T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await check();
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; recovery agent log:\n${(await agentLog()).slice(-4000)}`);
      await sleep(250);
    }
  };
  const recoveryTicket = (token: string, deviceId: string) =>
    api.request('POST', `devices/${deviceId}/terminal-sessions`, { token, body: { target: 'recovery', cols: 100, rows: 30 } });
  const openRecoveryTerminal = async () => {
    const r = await recoveryTicket(admin, device.id);
    expect(r.status, r.text).toBe(201);
    const ticket = r.body as TerminalTicket;
    const client = await TerminalClient.open(api, ticket.ticket, { bearer: admin });
    if (!(client instanceof TerminalClient)) throw new Error(`recovery terminal refused: ${client.status} ${JSON.stringify(client.body)}`);
    return { client, ticket };
  };
  let agentPid: number;
  const startAgent = (logName: string) =>
    stick.startProcess(
      process.execPath,
      [...AGENT_NODE_FLAGS, AGENT_MAIN, 'recovery', 'run', '--config', join(work, 'recovery.conf'), '--run-dir', runDir],
      logName,
    );
  const sshdPid = async () => Number.parseInt((await readFile(join(runDir, 'ssh', 'sshd.pid'), 'utf8').catch(() => '')).trim(), 10);

  beforeAll(async () => {
    fixture = await buildRecoveryImageFixture();
    // Under /run, not /tmp: sshd's StrictModes refuses trust files below a world-writable directory.
    work = join('/run', `xs-rshell-${randomBytes(4).toString('hex')}`);
    runDir = join(work, 'run');
    await mkdir(work, { recursive: true, mode: 0o700 });
    // One lab per machine: a qemu lab of another spec may hold it for a long while.
    lab = await startLab({ containers: false, waitForOtherLabMs: 45 * 60_000, log: (line) => console.log(`lab: ${line}`) });
    api = await TestApi.start(
      {
        ...lab.apiEnv(),
        API_WG_RECONCILE_SECONDS: '2',
        API_RECOVERY_IMAGE: fixture.image,
        API_RECOVERY_MEDIA_DIR: join(work, 'media'),
        API_TERMINAL_RECORDINGS_DIR: join(work, 'recordings'),
      },
      { host: '0.0.0.0', port: lab.apiPort },
    );
    admin = await api.adminToken();
    await stepUp(api, admin);
    const operator = await api.createUser(admin, 'soc_operator');
    soc = await api.tokenFor(operator.email);
    const where = await createOrganizationSite(api, admin, 'Recovery Shell Org');
    device = await enrollDeviceAt(api, admin, where, 'rshell-device');

    const created = await api.request('POST', `devices/${device.id}/recovery-media`, { token: admin, body: {} });
    expect(created.status, created.text).toBe(201);
    medium = created.body.medium;
    const image = await fetch(`${api.baseUrl}/api/v1/devices/${device.id}/recovery-media/${medium.id}/image`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(image.status).toBe(200);
    const imagePath = join(work, 'stick.img');
    await writeFile(imagePath, Buffer.from(await image.arrayBuffer()));
    // recovery.conf as the stick's /init finds it: read from the CONFIG partition of the flashed image.
    const { stdout: conf } = await execa('mtype', ['-i', `${imagePath}@@${FIXTURE_CONFIG_OFFSET}`, '::recovery.conf'], {
      env: { MTOOLS_SKIP_CHECK: '1' },
    });
    await writeFile(join(work, 'recovery.conf'), `${conf}\n`, { mode: 0o600 });

    stick = await lab.addLightDevice();
    agentPid = await startAgent('recovery.log');
    const registered = await until('RECOVERY MODE with a shell', async () => {
      const mode = (await mediaOf(device.id)).find((m) => m.id === medium.id)?.recoveryMode;
      return mode?.shellHostKeyFingerprint ? mode : null;
    });
    hostKey = (await readFile(join(runDir, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    expect(registered.shellHostKeyFingerprint).toBe(sshKeyFingerprint(hostKey));
    await until('sshd running', async () => (await agentLog()).includes('step=agent shell ok') && (await sshdPid()) > 1);
  }, 55 * 60_000);

  afterAll(async () => {
    // The stick's interface goes first: its wireguard-go (started by the agent, not by the lab) exits with it.
    if (stick) await execa('ip', ['-n', stick.netns, 'link', 'del', 'xs-recovery'], { reject: false });
    await api?.stop();
    await lab?.teardown();
    await fixture?.remove();
    if (work) await rm(work, { recursive: true, force: true });
  }, 180_000);

  it('recovery run registers over its own tunnel: RECOVERY MODE, the boot host key pinned, sshd on the overlay address only', async () => {
    const log = await agentLog();
    expect(log).toMatch(/step=agent tunnel ok/);
    expect(log).toMatch(/step=agent register ok/);
    const { rows } = await api.sql.query('SELECT ssh_host_key FROM recovery_media WHERE id = $1', [medium.id]);
    expect(rows[0].ssh_host_key).toBe(hostKey);
    const [registration] = await api.auditRows(`action = 'recovery.register' AND resource_id = $1`, [device.id]);
    expect(registration.details).toMatchObject({ mediumId: medium.id, shell: sshKeyFingerprint(hostKey) });
    // Listening sockets in the stick's namespace: sshd on the medium's overlay address, nothing else on port 22.
    const { stdout } = await execa('ip', ['netns', 'exec', stick.netns, 'ss', '-Hltn', 'sport = :22']);
    const listeners = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.trim().split(/\s+/)[3]);
    expect(listeners).toEqual([`${medium.overlayAddress}:22`]);
    const config = await readFile(join(runDir, 'ssh', 'sshd_config'), 'utf8');
    expect(config).toContain('PasswordAuthentication no');
    expect(await readFile(join(runDir, 'ssh', 'principals'), 'utf8')).toBe(`${recoveryPrincipalOf(medium.id)}\n`);
  });

  it('a Super Admin opens a root shell on the stick through the terminal WebSocket; recorded and audited with medium and boot', async () => {
    const { client, ticket } = await openRecoveryTerminal();
    const ready = await client.next('ready', 30_000);
    expect(ready).toMatchObject({ deviceId: device.id, target: 'recovery', hostKeyFingerprint: sshKeyFingerprint(hostKey) });
    // Who and where: root, in the stick's namespace (its tunnel interface holds the medium's address).
    client.type('echo "who=$(id -un)"; ip -brief address show dev xs-recovery\r');
    await client.waitForOutput(/who=root/);
    await client.waitForOutput(new RegExp(`xs-recovery\\s+\\S+\\s+${medium.overlayAddress.replace(/\./g, '\\.')}/32`));
    client.type('exit\r');
    expect(await client.next('ended', 30_000)).toMatchObject({ reason: 'closed', exitCode: 0 });

    const bootId = (await api.sql.query('SELECT boot_id FROM recovery_media WHERE id = $1', [medium.id])).rows[0].boot_id as string;
    const [issued] = await api.auditRows(`action = 'terminal.ticket' AND details->>'sessionId' = $1`, [ticket.sessionId]);
    expect(issued.details).toMatchObject({ target: 'recovery', mediumId: medium.id, bootId });
    const ended = await until('the closing audit row', async () => {
      const rows = await api.auditRows(`action = 'remote_session.end' AND details->>'sessionId' = $1`, [ticket.sessionId]);
      return rows[0];
    });
    expect(ended.details).toMatchObject({ reason: 'closed', target: 'recovery', mediumId: medium.id, bootId });
    expect(ended.details.recordingSha256).toMatch(/^[0-9a-f]{64}$/);
    const [started] = await api.auditRows(`action = 'remote_session.start' AND details->>'sessionId' = $1`, [ticket.sessionId]);
    expect(started.details).toMatchObject({ target: 'recovery', mediumId: medium.id, bootId });
    expect(started.details.certificateKeyId).toMatch(/^xspectre recovery session /);
    // The stick's own sshd logged the certificate's key id (who logged in).
    expect(await agentLog()).toContain(`xspectre recovery session ${ticket.sessionId}`);
  });

  it('a SOC operator (devices.manage, not Super Admin) gets 403 with a clear message', async () => {
    const r = await recoveryTicket(soc, device.id);
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body.code).toBe('AUTH_FORBIDDEN');
    expect(r.body.detail).toMatch(/Super Admins only/);
  });

  it('a device that is not in RECOVERY MODE gets 409 DEVICE_NOT_IN_RECOVERY_MODE', async () => {
    const where = await createOrganizationSite(api, admin, 'Recovery Shell Other');
    const other = await enrollDeviceAt(api, admin, where, 'rshell-no-stick');
    const r = await recoveryTicket(admin, other.id);
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('DEVICE_NOT_IN_RECOVERY_MODE');
    expect(r.body.detail).toMatch(/not in RECOVERY MODE/);
  });

  it("the stick's sshd refuses a certificate for the device's own principal, as root and as xspectre-ops", async () => {
    const ca = api.app.get(SshCertificateAuthority);
    const pinned = Buffer.from(hostKey.split(' ')[1]!, 'base64');
    const attempt = async (username: string) => {
      const credentials = await ca.issue({ deviceId: device.id, sessionId: randomUUID(), operatorEmail: 'rshell-case@test.local' });
      const client = new ssh2.Client();
      try {
        return await new Promise<string>((resolve) => {
          client.once('ready', () => resolve('logged in'));
          client.once('error', (error: Error & { level?: string }) => resolve(error.level ?? error.message));
          client.connect({
            host: medium.overlayAddress,
            port: 22,
            localAddress: ca.sourceAddress,
            username,
            readyTimeout: 15_000,
            hostVerifier: (key: Buffer) => key.equals(pinned),
            authHandler: certificateLogin(client, { ...credentials, username }) as never,
          });
        });
      } finally {
        client.end();
      }
    };
    expect(await attempt('root')).toBe('client-authentication');
    expect(await attempt('xspectre-ops')).toBe('client-authentication');
  });

  it('a host key other than the one registered for this boot is refused; the device keeps no pending key; sshd restarted by the agent', async () => {
    const keyFile = join(runDir, 'ssh', 'ssh_host_ed25519_key');
    const before = await sshdPid();
    // Another key in the place of this boot's, then sshd killed: the agent's supervisor starts it again with that key.
    await rename(keyFile, `${keyFile}.boot`);
    await rename(`${keyFile}.pub`, `${keyFile}.pub.boot`);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    process.kill(before, 'SIGKILL');
    await until('sshd restarted', async () => {
      const pid = await sshdPid();
      return pid > 1 && pid !== before;
    });
    const other = (await readFile(`${keyFile}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    const opened = await until('the restarted sshd answering', async () => {
      const { client } = await openRecoveryTerminal();
      const error = await client.next('error', 30_000).catch(() => null);
      return error?.code === 'DEVICE_SSH_UNREACHABLE' ? null : error;
    });
    expect(opened).toMatchObject({ code: 'SSH_HOST_KEY_MISMATCH' });
    expect(opened.message).toMatch(/registered for this boot/);
    const hostKeys = await api.request('GET', `devices/${device.id}/ssh-host-key`, { token: admin });
    expect(hostKeys.body.pending).toBeNull();
    expect(other).not.toBe(hostKey);

    // This boot's key back (and sshd again), for the cases after this one.
    const again = await sshdPid();
    await rename(`${keyFile}.boot`, keyFile);
    await rename(`${keyFile}.pub.boot`, `${keyFile}.pub`);
    process.kill(again, 'SIGKILL');
    await until('sshd restarted with the boot key', async () => {
      const pid = await sshdPid();
      return pid > 1 && pid !== again;
    });
  });

  it("the device's own agent heard again ends RECOVERY MODE and closes the open recovery shell (access_revoked)", async () => {
    const { client } = await until('a recovery shell', async () => {
      const opened = await openRecoveryTerminal();
      const ready = await opened.client.next('ready', 30_000).catch(() => null);
      return ready ? opened : null;
    });
    client.type('echo still-here\r');
    await client.waitForOutput(/still-here/);
    // What ingest calls when a heartbeat group of the device's own agent committed.
    await api.app.get(RecoveryService).agentsHeard([device.id], new Date());
    const ended = await client.next('ended', 30_000);
    expect(ended.reason).toBe('access_revoked');
    expect(ended.message).toContain('DEVICE_NOT_IN_RECOVERY_MODE');
    const r = await recoveryTicket(admin, device.id);
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('DEVICE_NOT_IN_RECOVERY_MODE');
  });

  it('the agent killed and started again (a new boot): its leftover sshd stopped, a new host key registered and pinned', async () => {
    const leftover = await sshdPid();
    process.kill(agentPid, 'SIGKILL');
    await until('the agent gone', async () => (await readFile(`/proc/${agentPid}/cmdline`, 'utf8').catch(() => '')) === '', 30_000);
    expect(await readFile(`/proc/${leftover}/cmdline`, 'utf8')).toContain('sshd_config');
    const log = () => readFile(join(stick.configDir, 'recovery-2.log'), 'utf8').catch(() => '');
    agentPid = await startAgent('recovery-2.log');
    const mode = await until('RECOVERY MODE of the new boot', async () => {
      const m = (await mediaOf(device.id)).find((x) => x.id === medium.id)?.recoveryMode;
      return m?.shellHostKeyFingerprint && m.shellHostKeyFingerprint !== sshKeyFingerprint(hostKey) ? m : null;
    });
    await until('the new sshd', async () => (await log()).includes('step=agent shell ok') && (await sshdPid()) !== leftover);
    expect(await log()).toContain(`shell leftover stopped pid=${leftover}`);
    expect(await readFile(`/proc/${leftover}/cmdline`, 'utf8').catch(() => '')).toBe('');
    const newKey = (await readFile(join(runDir, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    expect(mode.shellHostKeyFingerprint).toBe(sshKeyFingerprint(newKey));
    const { client } = await until('a recovery shell of the new boot', async () => {
      const opened = await openRecoveryTerminal();
      const ready = await opened.client.next('ready', 30_000).catch(() => null);
      return ready ? opened : null;
    });
    expect(client.messages.find((m) => m.type === 'ready')).toMatchObject({ hostKeyFingerprint: sshKeyFingerprint(newKey) });
    client.type('echo "who=$(id -un)"\r');
    await client.waitForOutput(/who=root/);
    client.type('exit\r');
    expect(await client.next('ended', 30_000)).toMatchObject({ reason: 'closed' });
  }, 300_000);
});
