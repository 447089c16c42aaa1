import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, DEVICE_ENGINE_IMAGE, type ContainerDevice, type Lab, type LightDevice } from '@xspectre/lab';
import { COMMAND_TTL_MS, FINAL_COMMAND_STATUSES, type Command } from '@xspectre/contracts';
import { signCommand } from '@xspectre/contracts/command-signature';
import { KeyStore } from '../src/keys/key-store.js';
import { CommandWakeups } from '../src/commands/command-wakeups.js';
import { TestApi } from './support/harness.js';
import { stepUp } from './support/step-up.js';
import { envelopeTamperings, type StoredEnvelope } from './support/envelope-tampering.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HEARTBEAT_SECONDS = 5;
/** A oneshot unit that appends a line per run: the side effect every security case counts. */
const MARKER_UNIT = `[Unit]
Description=lab marker: one line per run
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo run >> /var/lib/xs-lab/marker-runs'
`;
/** A oneshot unit that runs for 40 s, writing when it starts and when it ends. */
const SLOW_UNIT = `[Unit]
Description=lab slow action
[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/bin/sh -c 'echo start >> /var/lib/xs-lab/slow-runs; sleep 40; echo end >> /var/lib/xs-lab/slow-runs'
`;

/**
 * The signed command queue end to end: the real API, a device container with systemd enrolled
 * by bootstrap.sh (the agent sandboxed as a systemd service, transient units for actions, the
 * devices' own Docker engine on /run/docker.sock), and a light device without systemd. Every
 * security case is checked on the device's side effect (a marker file), not only on the status.
 * Where a case needs an envelope the API would never sign (a reused nonce, an already short
 * life), the test signs it with the API's own key from the key store, as a compromised API or a
 * delayed delivery would present it; database edits play a compromised database.
 */
describe('fleet lab: signed commands on real devices', () => {
  let lab: Lab;
  let api: TestApi;
  let admin: string;
  let totpSecret: string;
  let site: { organizationId: string; siteId: string };
  let d1: { id: string; device: ContainerDevice };
  let d2: { id: string; device: LightDevice };

  async function newDevice(name: string) {
    const r = await api.request('POST', 'devices', { token: admin, body: { name, ...site, type: 'scanner' } });
    if (r.status !== 201) throw new Error(`create device: ${r.status} ${r.text}`);
    return { id: r.body.device.id as string, code: r.body.claimCode.code as string };
  }

  async function queue(deviceId: string, action: string, params: object, route = 'commands', token = admin): Promise<Command> {
    const r = await api.request('POST', `devices/${deviceId}/${route}`, { token, body: { action, params } });
    if (r.status !== 201) throw new Error(`queue ${action}: ${r.status} ${r.text}`);
    return r.body as Command;
  }

  const getCommand = async (id: string) => (await api.request('GET', `commands/${id}`, { token: admin })).body as Command;

  async function waitFor(id: string, done: (c: Command) => boolean, timeoutMs = 120_000): Promise<Command> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const command = await getCommand(id);
      if (done(command)) return command;
      if (Date.now() > deadline) throw new Error(`command ${id} is still ${command.status} after ${timeoutMs / 1000} s`);
      await sleep(250);
    }
  }
  const isFinal = (c: Command) => FINAL_COMMAND_STATUSES.includes(c.status);
  const waitFinal = (id: string, timeoutMs?: number) => waitFor(id, isFinal, timeoutMs);

  async function lines(file: string): Promise<string[]> {
    const r = await d1.device.exec('cat', [file]);
    return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
  }
  const markerRuns = async () => (await lines('/var/lib/xs-lab/marker-runs')).length;

  async function mustExec(device: ContainerDevice, file: string, args: string[], input?: string) {
    const r = await device.exec(file, args, { timeoutMs: 60_000, ...(input === undefined ? {} : { input }) });
    if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.exitCode} ${r.stderr}`);
    return r.stdout;
  }

  async function bootMarkerOf(device: ContainerDevice): Promise<string> {
    const bootId = (await mustExec(device, 'cat', ['/proc/sys/kernel/random/boot_id'])).trim();
    const stat = await mustExec(device, 'cat', ['/proc/1/stat']);
    return `${bootId}:${
      stat
        .slice(stat.lastIndexOf(')') + 1)
        .trim()
        .split(/\s+/)[19]
    }`;
  }

  /** A command signed with the API's current key, stored as the API would store it; the device's poll is woken. */
  async function insertSigned(options: { deviceId: string; action: string; params: object; issuedAt: Date; nonce?: string }) {
    const key = await api.app.get(KeyStore).currentSigningKey('command-signing');
    const signed = signCommand(key.privateKey, {
      v: 1,
      keyId: key.keyId,
      commandId: randomUUID(),
      deviceId: options.deviceId,
      action: options.action,
      params: options.params as Record<string, never>,
      nonce: options.nonce ?? randomBytes(16).toString('hex'),
      issuedAt: options.issuedAt.toISOString(),
      expiresAt: new Date(options.issuedAt.getTime() + COMMAND_TTL_MS).toISOString(),
    });
    await api.sql.query(
      `INSERT INTO commands (id, device_id, action, params, critical, key_id, nonce, issued_at, expires_at, signature, status, requested_by)
       VALUES ($1, $2, $3, $4, false, $5, $6, $7, $8, $9, 'queued', 'lab test')`,
      [
        signed.commandId,
        signed.deviceId,
        signed.action,
        signed.params,
        signed.keyId,
        signed.nonce,
        signed.issuedAt,
        signed.expiresAt,
        signed.signature,
      ],
    );
    return signed;
  }
  const wake = (deviceId: string) => api.app.get(CommandWakeups).wake(deviceId);
  /** The admin's session stepped up again every 2 minutes (a TOTP code is accepted once: a new one every 30 s). */
  let steppedAt = 0;
  async function critical(): Promise<string> {
    if (Date.now() - steppedAt > 120_000) {
      await stepUp(api, admin, totpSecret);
      steppedAt = Date.now();
    }
    return admin;
  }
  async function newScript(name: string, content: string, timeoutSeconds = 120): Promise<string> {
    const r = await api.request('POST', 'scripts', {
      token: await critical(),
      body: { name, interpreter: 'bash', content, timeoutSeconds },
    });
    if (r.status !== 201) throw new Error(`create script: ${r.status} ${r.text}`);
    return r.body.id as string;
  }
  /** The technician's local policy on d1: every action, and script runs by name (they need an explicit allow). */
  const allowScripts = () =>
    mustExec(d1.device, 'sh', ['-c', 'cat > /etc/xspectre/policy.json'], JSON.stringify({ allow: ['*', 'script.run'] }));
  const runScript = async (scriptId: string, args: string[]) =>
    queue(d1.id, 'script.run', { scriptId, args }, 'critical-commands', await critical());
  const agentActive = async () => (await d1.device.exec('systemctl', ['is-active', 'xspectre-agent.service'])).stdout.trim();

  beforeAll(async () => {
    lab = await startLab({ containers: true, log: (line) => console.log(`lab: ${line}`) });
    api = await TestApi.start(
      {
        ...lab.apiEnv(),
        API_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
        API_WG_RECONCILE_SECONDS: '2',
        // The file runs longer than the default 10 minutes of an access token.
        API_ACCESS_TOKEN_TTL_SECONDS: '3600',
      },
      { host: '0.0.0.0', port: lab.apiPort },
    );
    admin = await api.adminToken();
    totpSecret = (await api.enableTotp(admin)).secret;
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Lab Commands', kind: 'customer' } });
    const s = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'Main', timeZone: 'UTC' } });
    site = { organizationId: org.body.id, siteId: s.body.id };

    const first = await newDevice('scanner-cmd-1');
    const container = await lab.addContainerDevice({ hostname: 'scanner-cmd-1' });
    const result = await container.bootstrap(first.code);
    if (result.exitCode !== 0) throw new Error(`bootstrap: ${result.stdout}\n${result.stderr}`);
    d1 = { id: first.id, device: container };
    await mustExec(container, 'mkdir', ['-p', '/var/lib/xs-lab']);
    await mustExec(container, 'sh', ['-c', 'cat > /etc/systemd/system/xs-marker.service'], MARKER_UNIT);
    await mustExec(container, 'sh', ['-c', 'cat > /etc/systemd/system/xs-slow.service'], SLOW_UNIT);
    await mustExec(container, 'systemctl', ['daemon-reload']);

    const second = await newDevice('server-cmd-2');
    const light = await lab.addLightDevice();
    const enrolled = await light.bootstrap(second.code);
    if (enrolled.exitCode !== 0) throw new Error(`light bootstrap: ${enrolled.stdout}\n${enrolled.stderr}`);
    d2 = { id: second.id, device: light };
  }, 25 * 60_000);

  afterAll(async () => {
    await api?.stop();
    await lab?.teardown();
  }, 180_000);

  it('restarts a real unit through a transient unit: runs once, timestamps and audit rows stored', async () => {
    const before = await markerRuns();
    const queued = await queue(d1.id, 'service.restart', { unit: 'xs-marker.service' });
    const done = await waitFinal(queued.id);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded', exitCode: 0, reason: null });
    expect(Date.parse(done.deliveredAt!)).toBeLessThanOrEqual(Date.parse(done.startedAt!));
    expect(Date.parse(done.startedAt!)).toBeLessThanOrEqual(Date.parse(done.finishedAt!));
    expect(await markerRuns()).toBe(before + 1);
    // The transient unit is unloaded once its result is in the agent's journal.
    const units = await d1.device.exec('systemctl', ['list-units', '--all', '--no-legend', 'xspectre-cmd-*']);
    expect(units.stdout.trim()).toBe('');
    const audit = await api.auditRows(`details->>'commandId' = $1 OR resource_id = $1`, [queued.id]);
    const actions = audit.map((row) => row.action as string);
    expect(actions).toContain('command.queue');
    expect(actions.filter((a) => a === 'command.status').length).toBeGreaterThanOrEqual(2); // running, succeeded
  });

  it('restarts, stops and starts a container of the devices’ own engine; an unknown container fails', async () => {
    const run = await lab.deviceDocker([
      'run',
      '--detach',
      '--name',
      'web',
      '--network',
      'none',
      '--stop-timeout',
      '1',
      DEVICE_ENGINE_IMAGE,
      '/bin/sleep',
      '100000',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    const inspect = async (format: string) => (await lab.deviceDocker(['inspect', '--format', format, 'web'])).stdout.trim();
    const startedBefore = await inspect('{{.State.StartedAt}}');

    const restarted = await waitFinal((await queue(d1.id, 'container.restart', { container: 'web' })).id);
    expect(restarted, JSON.stringify(restarted)).toMatchObject({ status: 'succeeded', stdout: 'container web restarted\n' });
    expect(await inspect('{{.State.StartedAt}}')).not.toBe(startedBefore);

    expect((await waitFinal((await queue(d1.id, 'container.stop', { container: 'web' })).id)).status).toBe('succeeded');
    expect(await inspect('{{.State.Running}}')).toBe('false');
    expect((await waitFinal((await queue(d1.id, 'container.start', { container: 'web' })).id)).status).toBe('succeeded');
    expect(await inspect('{{.State.Running}}')).toBe('true');

    const ghost = await waitFinal((await queue(d1.id, 'container.restart', { container: 'ghost' })).id);
    expect(ghost).toMatchObject({ status: 'failed', reason: 'no such container: ghost' });
  });

  it('collects diagnostics: the agent journal, the kernel log, disk usage and failed units', async () => {
    const done = await waitFinal((await queue(d1.id, 'diagnostics.collect', {})).id);
    expect(['succeeded', 'failed']).toContain(done.status);
    for (const section of ['journalctl -u xspectre-agent', 'journalctl -k', 'df -h', 'systemctl --failed'])
      expect(done.stdout, section).toContain(`===== ${section}`);
    expect(done.stdout).toContain('xspectre-agent'); // the agent's own journal lines are there
  });

  it('every byte of a stored envelope changed in the database: all rejected, nothing runs', async () => {
    const before = await markerRuns();
    // While the agent is stopped the commands wait; each row is then edited in PostgreSQL.
    await d1.device.stopAgent();
    const sample = await queue(d1.id, 'service.restart', { unit: 'xs-marker.service' });
    const stored = async (id: string): Promise<StoredEnvelope> =>
      (
        await api.sql.query(
          `SELECT id, key_id AS "keyId", action, params, nonce, issued_at AS "issuedAt", expires_at AS "expiresAt", signature
             FROM commands WHERE id = $1`,
          [id],
        )
      ).rows[0];
    const cases = envelopeTamperings(await stored(sample.id));
    const ids: string[] = [sample.id];
    while (ids.length < cases.length) ids.push((await queue(d1.id, 'service.restart', { unit: 'xs-marker.service' })).id);
    const tampered: Array<{ id: string; what: string }> = [];
    const skipped: string[] = [];
    for (let i = 0; i < cases.length; i++) {
      const edit = cases[i]!.apply(await stored(ids[i]!));
      if (!edit) {
        // Every change of this digit moves the time into the past: such a row is never delivered.
        await api.sql.query(`DELETE FROM commands WHERE id = $1`, [ids[i]]);
        skipped.push(cases[i]!.what);
        continue;
      }
      await api.sql.query(
        `UPDATE commands SET id = $2, key_id = $3, action = $4, params = $5, nonce = $6, issued_at = $7, expires_at = $8, signature = $9
          WHERE id = $1`,
        [ids[i], edit.id, edit.keyId, edit.action, edit.params, edit.nonce, edit.issuedAt, edit.expiresAt, edit.signature],
      );
      tampered.push({ id: edit.id, what: cases[i]!.what });
    }
    await mustExec(d1.device, 'systemctl', ['start', 'xspectre-agent.service']);

    const reasons = new Map<string, number>();
    for (const { id, what } of tampered) {
      const done = await waitFinal(id, 240_000);
      expect(done.status, `${what}: ${done.reason}`).toBe('rejected');
      reasons.set(done.reason!, (reasons.get(done.reason!) ?? 0) + 1);
    }
    console.log(
      `lab: ${tampered.length} tampered envelopes rejected: ${JSON.stringify(Object.fromEntries(reasons))}; ` +
        `not deliverable, so not sent: ${skipped.join(', ') || 'none'}`,
    );
    // The month's and the hour's tens and the month's units: every other digit is invalid or in the past.
    expect(skipped.length).toBeLessThanOrEqual(8);
    expect(await markerRuns()).toBe(before);
  }, 600_000);

  // The API builds the envelope from the row's device id: a command moved to another device in the
  // database fails its signature there. (A validly signed envelope for another device, which only a
  // compromised API could hand out, is refused as "another device's id": agent/src/commands/command-loop.spec.ts.)
  it("another device's command moved to this device in the database is rejected and does not run", async () => {
    // d2 (no systemd) first shows the unsupported case, then its agent stops so its command waits.
    const unsupported = await waitFinal((await queue(d2.id, 'service.restart', { unit: 'xs-marker.service' })).id);
    expect(unsupported.status).toBe('rejected');
    expect(unsupported.reason).toMatch(/^unsupported on this host: systemd is not running/);

    const before = await markerRuns();
    await d2.device.stopAgent();
    const theirs = await queue(d2.id, 'service.restart', { unit: 'xs-marker.service' });
    await api.sql.query(`UPDATE commands SET device_id = $2 WHERE id = $1`, [theirs.id, d1.id]);
    await wake(d1.id);
    const done = await waitFinal(theirs.id);
    expect(done).toMatchObject({ status: 'rejected', reason: 'bad signature' });
    expect(await markerRuns()).toBe(before);
  });

  it('a key id the device never pinned is rejected', async () => {
    const before = await markerRuns();
    await d1.device.stopAgent();
    const command = await queue(d1.id, 'service.restart', { unit: 'xs-marker.service' });
    await api.sql.query(`UPDATE commands SET key_id = '00112233aabbccdd' WHERE id = $1`, [command.id]);
    await mustExec(d1.device, 'systemctl', ['start', 'xspectre-agent.service']);
    const done = await waitFinal(command.id);
    expect(done).toMatchObject({ status: 'rejected', reason: 'unknown key id: not among the keys this device pinned' });
    expect(await markerRuns()).toBe(before);
  });

  it('an action the local policy denies is rejected by the device', async () => {
    const before = await markerRuns();
    await mustExec(d1.device, 'sh', ['-c', 'cat > /etc/xspectre/policy.json'], JSON.stringify({ deny: ['service.start'] }));
    try {
      const done = await waitFinal((await queue(d1.id, 'service.start', { unit: 'xs-marker.service' })).id);
      expect(done.status).toBe('rejected');
      expect(done.reason).toMatch(/^denied by local policy/);
      expect(await markerRuns()).toBe(before);
    } finally {
      await mustExec(d1.device, 'rm', ['-f', '/etc/xspectre/policy.json']);
    }
  });

  it('replays: the same envelope again runs nothing (also after an agent restart); a reused nonce is rejected', async () => {
    const first = await waitFinal((await queue(d1.id, 'service.restart', { unit: 'xs-marker.service' })).id);
    expect(first.status).toBe('succeeded');
    const runs = await markerRuns();
    const requeue = () =>
      api.sql.query(
        `UPDATE commands SET status = 'queued', delivered_at = NULL, started_at = NULL, finished_at = NULL, exit_code = NULL,
                stdout = NULL, stderr = NULL WHERE id = $1`,
        [first.id],
      );
    const redelivered = async () => {
      await requeue();
      await wake(d1.id);
      // The agent recognises the id and nonce it ran: it reports the result it has, and runs nothing.
      return waitFor(first.id, (c) => c.status !== 'queued' && c.status !== 'delivered');
    };
    expect((await redelivered()).status).toBe('succeeded');
    expect(await markerRuns()).toBe(runs);
    await mustExec(d1.device, 'systemctl', ['restart', 'xspectre-agent.service']);
    expect((await redelivered()).status).toBe('succeeded');
    expect(await markerRuns()).toBe(runs);

    // The same nonce under a new command id, validly signed (the database refuses two rows with one nonce, so the old row goes).
    const nonce = (await api.sql.query(`SELECT nonce FROM commands WHERE id = $1`, [first.id])).rows[0].nonce as string;
    for (const restartFirst of [false, true]) {
      await api.sql.query(`DELETE FROM commands WHERE nonce = $1`, [nonce]);
      if (restartFirst) await mustExec(d1.device, 'systemctl', ['restart', 'xspectre-agent.service']);
      const forged = await insertSigned({
        deviceId: d1.id,
        action: 'service.restart',
        params: { unit: 'xs-marker.service' },
        issuedAt: new Date(),
        nonce,
      });
      await wake(d1.id);
      const done = await waitFinal(forged.commandId);
      expect(done, `after an agent restart: ${restartFirst}`).toMatchObject({ status: 'rejected', reason: 'replayed nonce' });
    }
    expect(await markerRuns()).toBe(runs);
  });

  it('a command that waited behind a long action past its expiry is rejected as expired', async () => {
    const before = await markerRuns();
    const slowBefore = await lines('/var/lib/xs-lab/slow-runs');
    // Both valid for 5 more seconds (30 s of clock skew allowed); the first runs for 40 s, so the second is checked long after.
    const issuedAt = new Date(Date.now() - COMMAND_TTL_MS + 5_000);
    const slow = await insertSigned({ deviceId: d1.id, action: 'service.restart', params: { unit: 'xs-slow.service' }, issuedAt });
    const late = await insertSigned({
      deviceId: d1.id,
      action: 'service.restart',
      params: { unit: 'xs-marker.service' },
      issuedAt: new Date(issuedAt.getTime() + 1),
    });
    await wake(d1.id);
    const done = await waitFinal(late.commandId, 180_000);
    expect(done.status).toBe('rejected');
    expect(done.reason).toMatch(/^expired at /);
    expect((await waitFinal(slow.commandId, 120_000)).status).toBe('succeeded');
    expect(await markerRuns()).toBe(before);
    expect(await lines('/var/lib/xs-lab/slow-runs')).toEqual([...slowBefore, 'start', 'end']);
  }, 300_000);

  it('runs a script from the library once the local policy allows it; its arguments reach it literally', async () => {
    const scriptId = await newScript('print-args', 'for a in "$@"; do printf "[%s]\\n" "$a"; done\necho "to stderr" >&2\nexit 3\n');
    const args = ['$HOME', '${X}', '%n', '', 'two words', 'a\nb', "it's"];
    // No policy file: script runs need an explicit allow.
    const denied = await waitFinal((await runScript(scriptId, args)).id);
    expect(denied.status).toBe('rejected');
    expect(denied.reason).toMatch(/^denied by local policy/);

    await allowScripts();
    const queued = await runScript(scriptId, args);
    expect(queued.params).toMatchObject({ scriptId, args, interpreter: 'bash' });
    const done = await waitFinal(queued.id);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'failed', exitCode: 3, stderr: 'to stderr\n' });
    expect(done.stdout).toBe(args.map((a) => `[${a}]\n`).join(''));
    // The script file and the unit are gone.
    expect((await d1.device.exec('sh', ['-c', 'ls /var/lib/xspectre/commands/scripts 2>/dev/null | wc -l'])).stdout.trim()).toBe('0');
    expect((await d1.device.exec('systemctl', ['list-units', '--all', '--no-legend', 'xspectre-cmd-*'])).stdout.trim()).toBe('');
  });

  it('an agent killed while its action runs picks up the result after its restart: ran once', async () => {
    const slowBefore = await lines('/var/lib/xs-lab/slow-runs');
    const command = await queue(d1.id, 'service.restart', { unit: 'xs-slow.service' });
    await waitFor(command.id, (c) => c.status === 'running');
    await mustExec(d1.device, 'systemctl', ['kill', '--signal=KILL', 'xspectre-agent.service']);
    const done = await waitFinal(command.id, 180_000);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(await agentActive()).toBe('active'); // restarted by systemd (Restart=always)
    expect(await lines('/var/lib/xs-lab/slow-runs')).toEqual([...slowBefore, 'start', 'end']);
  }, 300_000);

  it('a power cut while a script runs: interrupted after the boot, never run again', async () => {
    const slowBefore = await lines('/var/lib/xs-lab/slow-runs');
    const scriptId = await newScript('slow', 'echo start >> /var/lib/xs-lab/slow-runs\nsleep 60\necho end >> /var/lib/xs-lab/slow-runs\n');
    await allowScripts();
    const command = await runScript(scriptId, []);
    await waitFor(command.id, (c) => c.status === 'running');
    // Cut once the unit has begun (it writes `start` first).
    for (let i = 0; i < 120 && (await lines('/var/lib/xs-lab/slow-runs')).length === slowBefore.length; i++) await sleep(250);
    await d1.device.powerOff();
    await d1.device.restart();
    const done = await waitFinal(command.id, 180_000);
    expect(done).toMatchObject({ status: 'interrupted', reason: 'the agent stopped, and the transient unit is gone without a result' });
    await sleep(5_000);
    expect(await lines('/var/lib/xs-lab/slow-runs')).toEqual([...slowBefore, 'start']);
  }, 300_000);

  it('reboots the device (critical route, stepped up): it comes back and reports a new boot marker', async () => {
    const markerBefore = await bootMarkerOf(d1.device);
    const command = await queue(d1.id, 'reboot', {}, 'critical-commands', await critical());
    expect(command.critical).toBe(true);
    expect(await d1.device.waitForStop(120_000)).toBe(true);
    await d1.device.restart();
    const done = await waitFinal(command.id, 180_000);
    const markerNow = await bootMarkerOf(d1.device);
    expect(markerNow).not.toBe(markerBefore);
    expect(done).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(done.stdout).toBe(`the device restarted\nboot marker before: ${markerBefore}\nboot marker now: ${markerNow}\n`);
    // And it heartbeats again after the boot.
    const since = new Date();
    const deadline = Date.now() + 60_000;
    let beat = false;
    while (!beat && Date.now() < deadline) {
      const { rows } = await api.sql.query('SELECT count(*)::int AS n FROM device_heartbeats WHERE device_id = $1 AND received_at > $2', [
        d1.id,
        since,
      ]);
      beat = rows[0].n > 0;
      if (!beat) await sleep(500);
    }
    expect(beat).toBe(true);
  }, 300_000);
  const managed = async () => JSON.parse(await mustExec(d1.device, 'cat', ['/var/lib/xspectre/managed.json'])) as Record<string, any>;
  const credentialHashes = async () =>
    (await api.sql.query('SELECT credential_hash AS current, pending_credential_hash AS pending FROM devices WHERE id = $1', [d1.id]))
      .rows[0];
  async function heartbeatAfter(since: Date): Promise<boolean> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const { rows } = await api.sql.query('SELECT count(*)::int AS n FROM device_heartbeats WHERE device_id = $1 AND received_at > $2', [
        d1.id,
        since,
      ]);
      if (rows[0].n > 0) return true;
      await sleep(500);
    }
    return false;
  }

  it('pushes agent settings: managed.json on the device holds them, the agent goes on', async () => {
    const done = await waitFinal(
      (await queue(d1.id, 'settings.apply', { heartbeatIntervalSeconds: 10, watch: { units: ['ssh.service'] } })).id,
    );
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded' });
    expect(await managed()).toMatchObject({ heartbeatIntervalSeconds: 10, watchUnits: ['ssh.service'] });
    expect(await heartbeatAfter(new Date(done.finishedAt!))).toBe(true);
  });

  it('rotates the device credential: the agent switches to one it made, the old hash is gone, heartbeats go on', async () => {
    const before = await credentialHashes();
    const command = await queue(d1.id, 'credential.rotate', {}, 'critical-commands', await critical());
    const done = await waitFinal(command.id);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded' });
    // Neither the command nor its output holds the credential.
    const file = await managed();
    expect(file.deviceCredential).toMatch(/^dc_/);
    expect(JSON.stringify(done)).not.toContain(file.deviceCredential);
    expect(await heartbeatAfter(new Date(done.finishedAt!))).toBe(true);
    const after = await credentialHashes();
    expect(after.current).not.toBe(before.current);
    expect(after.pending).toBeNull();
  });

  it('a command-key rotation pins the new key on the device by a command signed with the old one; commands go on', async () => {
    const pinnedBefore = (await managed()).commandSigningKeys?.length ?? 1;
    const rotated = await api.request('POST', 'keys/command-signing/rotate', { token: await critical(), body: { graceHours: 1 } });
    expect(rotated.status, rotated.text).toBeLessThan(300);
    const { rows } = await api.sql.query(`SELECT id FROM commands WHERE device_id = $1 AND action = 'keys.pin'`, [d1.id]);
    expect(rows).toHaveLength(1);
    const pin = await waitFinal(rows[0].id);
    expect(pin, JSON.stringify(pin)).toMatchObject({ status: 'succeeded' });
    expect((await managed()).commandSigningKeys).toHaveLength(pinnedBefore + 1);
    const before = await markerRuns();
    expect((await waitFinal((await queue(d1.id, 'service.restart', { unit: 'xs-marker.service' })).id)).status).toBe('succeeded');
    expect(await markerRuns()).toBe(before + 1);
  });
});
