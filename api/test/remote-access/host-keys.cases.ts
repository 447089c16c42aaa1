import { randomUUID } from 'node:crypto';
import ssh2 from 'ssh2';
import { expect, it } from 'vitest';
import { AlertEvaluator } from '../../src/alerts/alert-evaluator.js';
import { certificateLogin } from '../../src/ssh/certificate-login.js';
import { SshCertificateAuthority, sshKeyFingerprint } from '../../src/ssh/ssh-certificate-authority.js';
import type { ContextGetter } from '../support/remote-access-context.js';
import { stepUp } from '../support/step-up.js';

const HUB_OVERLAY = '10.10.0.1';
const LAB_BRIDGE = '198.18.0.1';

/** Logs in with a certificate from the API's CA, from `localAddress` to `host`; resolves `id -un` or rejects with ssh2's error. */
async function loginAs(get: ContextGetter, route: { localAddress: string; host: string }, pinnedKey: string): Promise<string> {
  const { ra, device } = get();
  const credentials = await ra.api.app.get(SshCertificateAuthority).issue({
    deviceId: device.id,
    sessionId: randomUUID(),
    operatorEmail: 'host-keys-case@test.local',
  });
  const pinned = Buffer.from(pinnedKey.split(' ')[1]!, 'base64');
  const client = new ssh2.Client();
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({
        host: route.host,
        port: 22,
        localAddress: route.localAddress,
        username: credentials.username,
        readyTimeout: 15_000,
        hostVerifier: (key: Buffer) => key.equals(pinned),
        authHandler: certificateLogin(client, credentials) as never,
      });
    });
    return await new Promise<string>((resolve, reject) =>
      client.exec('id -un', (error, stream) => {
        if (error) return reject(error);
        let out = '';
        stream.on('data', (d: Buffer) => (out += d.toString('utf8'))).on('close', () => resolve(out.trim()));
      }),
    );
  } finally {
    client.end();
  }
}

/**
 * The session certificate works only from the hub's overlay address (`source-address`), and a
 * device whose SSH host key changed is refused until a Super Admin accepts the new key. These
 * change the device's host key: they run last.
 */
export function hostKeysCases(get: ContextGetter): void {
  const pinnedKey = async () => {
    const { ra, device } = get();
    const r = await ra.api.request('GET', `devices/${device.id}/ssh-host-key`, { token: ra.admin });
    expect(r.status, r.text).toBe(200);
    return r.body as { pinned: { key: string; fingerprint: string } | null; pending: { fingerprint: string; source: string } | null };
  };

  it('a session certificate logs in from the hub overlay address and is refused by sshd from the underlay', async () => {
    const { device } = get();
    const { pinned } = await pinnedKey();
    expect(pinned).not.toBeNull();
    // Positive control: the same kind of certificate, from where the API's sessions leave.
    expect(await loginAs(get, { localAddress: HUB_OVERLAY, host: device.overlayAddress }, pinned!.key)).toBe('xspectre-ops');
    // The device's underlay address, from the lab bridge: the certificate's source-address does not match.
    await expect(loginAs(get, { localAddress: LAB_BRIDGE, host: device.container.underlayAddress }, pinned!.key)).rejects.toMatchObject({
      level: 'client-authentication',
    });
  }, 60_000);

  it('a changed host key is refused and recorded with an alert; accepting it lets sessions work again', async () => {
    const { ra, device } = get();
    const before = await pinnedKey();
    const regenerated = await device.container.exec('sh', [
      '-c',
      'rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub && ssh-keygen -A && systemctl restart ssh',
    ]);
    expect(regenerated.exitCode, regenerated.stderr).toBe(0);
    const presented = (await device.container.exec('cat', ['/etc/ssh/ssh_host_ed25519_key.pub'])).stdout.trim();
    expect(presented).toMatch(/^ssh-ed25519 /);

    // A fresh login session: the file manager keeps SFTP connections per login session and device.
    const soc = await ra.api.createUser(ra.admin, 'soc_operator');
    const token = await ra.api.tokenFor(soc.email);
    const files = () => ra.api.request('GET', `devices/${device.id}/files?path=/`, { token });

    // The agent's next inventory may report the key first; otherwise this connection attempt does.
    const refused = await files();
    expect([refused.status, refused.body.code], refused.text).toEqual([409, 'SSH_HOST_KEY_MISMATCH']);
    const pending = (await pinnedKey()).pending;
    expect(pending?.fingerprint).toBe(sshKeyFingerprint(presented));
    expect(['inventory', 'connection']).toContain(pending!.source);
    expect((await pinnedKey()).pinned?.fingerprint).toBe(before.pinned?.fingerprint);
    const events = await ra.api.request('GET', `devices/${device.id}/events?type=ssh.host_key_changed`, { token: ra.admin });
    expect(events.body.items).toHaveLength(1);
    expect(events.body.items[0]).toMatchObject({ severity: 'critical', details: { pinnedFingerprint: before.pinned?.fingerprint } });

    await ra.api.app.get(AlertEvaluator).run(new Date());
    const open = await ra.api.sql.query(`SELECT state, severity FROM alerts WHERE device_id = $1 AND rule_key = 'ssh-host-key-changed'`, [
      device.id,
    ]);
    expect(open.rows).toEqual([{ state: 'open', severity: 'critical' }]);

    // Refused by the policy too (no SSH attempted): a terminal cannot be asked for.
    const terminal = await ra.api.request('POST', `devices/${device.id}/terminal-sessions`, { token, body: { cols: 80, rows: 24 } });
    expect([terminal.status, terminal.body.code], terminal.text).toEqual([409, 'SSH_HOST_KEY_MISMATCH']);

    // A SOC operator may not accept it; a stepped-up Super Admin may (no other case turns on the admin's TOTP).
    const socAccept = await ra.api.request('POST', `devices/${device.id}/ssh-host-key/accept`, { token, body: { reason: 'trust me' } });
    expect(socAccept.status).toBe(403);
    await stepUp(ra.api, ra.admin);
    const accepted = await ra.api.request('POST', `devices/${device.id}/ssh-host-key/accept`, {
      token: ra.admin,
      body: { reason: 'host keys regenerated by the lab test' },
    });
    expect(accepted.status, accepted.text).toBe(200);
    const after = await pinnedKey();
    expect(after.pending).toBeNull();
    expect(after.pinned?.key.split(' ').slice(0, 2)).toEqual(presented.split(' ').slice(0, 2));

    // Sessions work again: the policy hands out a terminal ticket, and SSH with a session certificate
    // succeeds against the newly pinned key (the connector's check: the presented key equals it).
    const ticket = await ra.api.request('POST', `devices/${device.id}/terminal-sessions`, { token, body: { cols: 80, rows: 24 } });
    expect(ticket.status, ticket.text).toBe(201);
    expect(await loginAs(get, { localAddress: HUB_OVERLAY, host: device.overlayAddress }, after.pinned!.key)).toBe('xspectre-ops');
    await ra.api.app.get(AlertEvaluator).run(new Date());
    const resolved = await ra.api.sql.query(`SELECT state FROM alerts WHERE device_id = $1 AND rule_key = 'ssh-host-key-changed'`, [
      device.id,
    ]);
    expect(resolved.rows).toEqual([{ state: 'resolved' }]);
  }, 120_000);
}
