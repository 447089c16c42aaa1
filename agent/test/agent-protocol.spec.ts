/**
 * The built agent (`node agent/dist/main.js`) against a local server that speaks the real
 * contract (fake-api.ts), so the agent's side is tested alone; the real API is exercised by
 * api/test/enrollment.spec.ts and the fleet lab.
 */
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AgentConfigSchema } from '../src/config.js';
import { startFakeApi, type FakeApi } from './fake-api.js';
import { PRIVATE_KEY, PUBLIC_KEY, SSH_HOST_KEY, buildAgent, killAgents, startAgent, waitFor } from './built-agent.js';

const runAgent = (args: string[], env?: Record<string, string>) => startAgent(args, env).exited;
const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('agent protocol against a contract-speaking stand-in API', () => {
  let api: FakeApi;
  let work: string;
  let paths: { key: string; ssh: string; wg: string; config: string; state: string };

  beforeAll(async () => {
    // The test runs the built agent: build it (incremental, quick when up to date).
    buildAgent();
    api = await startFakeApi();
  });

  afterAll(async () => {
    await api.close();
  });

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'xspectre-agent-it-'));
    paths = {
      key: join(work, 'wg0.key'),
      ssh: join(work, 'ssh_host_ed25519_key.pub'),
      wg: join(work, 'wireguard', 'wg0.conf'),
      config: join(work, 'etc', 'agent.conf'),
      state: join(work, 'state'),
    };
    await writeFile(paths.key, `${PRIVATE_KEY}\n`, { mode: 0o600 });
    await writeFile(paths.ssh, `${SSH_HOST_KEY}\n`);
  });

  afterEach(async () => {
    killAgents();
    await rm(work, { recursive: true, force: true });
  });

  const enrollArgs = (claim: string, ...extra: string[]) => [
    'enroll',
    '--claim',
    claim,
    '--api',
    api.url,
    '--wg-private-key-file',
    paths.key,
    '--ssh-host-key-file',
    paths.ssh,
    '--wg-config-out',
    paths.wg,
    '--config',
    paths.config,
    '--state-dir',
    paths.state,
    ...extra,
  ];

  async function enroll(): Promise<{ credential: string; deviceId: string }> {
    const result = await runAgent(enrollArgs(api.addClaimCode()));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const answer = api.enrollResponses.at(-1)!;
    return { credential: answer.deviceCredential, deviceId: answer.deviceId };
  }

  it('enroll writes wg0.conf and agent.conf with mode 0600 and never prints the credential', async () => {
    const claim = api.addClaimCode();
    const before = api.enrollRequests.length;
    const result = await runAgent(enrollArgs(claim.toLowerCase()));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const request = api.enrollRequests.at(-1)!;
    const answer = api.enrollResponses.at(-1)!;
    expect(request.claimCode).toBe(claim.replaceAll('-', ''));
    expect(request.wgPublicKey).toBe(PUBLIC_KEY);
    expect(request.sshHostKey).toBe(SSH_HOST_KEY.replace(' root@device', ''));
    expect(request.installationSalt).toBe((await readFile(join(paths.state, 'installation-salt'), 'utf8')).trim());

    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(answer.deviceId);
    expect(lines[0]).toContain(`overlay address ${answer.tunnel.address}/24`);
    for (const secret of [answer.deviceCredential, PRIVATE_KEY, request.installationSalt]) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }

    expect(await mode(paths.wg)).toBe(0o600);
    expect(await mode(paths.config)).toBe(0o600);
    expect(await mode(join(paths.state, 'installation-salt'))).toBe(0o600);
    const wg = await readFile(paths.wg, 'utf8');
    expect(wg).toContain(`PrivateKey = ${PRIVATE_KEY}\nAddress = ${answer.tunnel.address}/24\n`);
    expect(wg).toContain(
      `[Peer]\nPublicKey = ${answer.tunnel.hubPublicKey}\nEndpoint = 198.18.0.1:51820\nAllowedIPs = 10.10.0.1/32\nPersistentKeepalive = 25\n`,
    );
    const config = AgentConfigSchema.parse(JSON.parse(await readFile(paths.config, 'utf8')));
    expect(config).toMatchObject({
      deviceId: answer.deviceId,
      apiUrl: api.url,
      deviceCredential: answer.deviceCredential,
      heartbeatIntervalSeconds: 5,
    });

    // Enrolled: a second enroll is refused before anything is sent, unless --force.
    const again = await runAgent(enrollArgs(api.addClaimCode()));
    expect(again.code).toBe(7);
    expect(again.stderr).toContain('already enrolled');
    expect(api.enrollRequests.length).toBe(before + 1);
    const forced = await runAgent(enrollArgs(api.addClaimCode(), '--force'));
    expect(forced.code).toBe(0);
    expect(AgentConfigSchema.parse(JSON.parse(await readFile(paths.config, 'utf8'))).deviceId).toBe(api.enrollResponses.at(-1)!.deviceId);
  });

  it('a rejected claim code exits 3 with the API code in stderr and writes nothing', async () => {
    for (const [status, code] of [
      ['used', 'CLAIM_CODE_USED'],
      ['expired', 'CLAIM_CODE_EXPIRED'],
    ] as const) {
      const result = await runAgent(enrollArgs(api.addClaimCode(status)));
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(code);
      expect(result.stdout).toBe('');
    }
    const unknown = await runAgent(enrollArgs('AAAA-BBBB-CCCC-DDDD-EEEE'));
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('CLAIM_CODE_INVALID');
    await expect(stat(paths.config)).rejects.toThrow(/ENOENT/);
    await expect(stat(paths.wg)).rejects.toThrow(/ENOENT/);
  });

  it('an unreachable API exits 4', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const args = enrollArgs(api.addClaimCode());
    args[args.indexOf('--api') + 1] = `http://127.0.0.1:${closedPort}/api/v1`;
    const result = await runAgent(args);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/unreachable.*ECONNREFUSED/);
  });

  it('run sends heartbeats with increasing sequence numbers, continues them after a restart, and exits 0 on SIGTERM', async () => {
    const { credential, deviceId } = await enroll();
    const env = { XSPECTRE_CONFIG: paths.config, XSPECTRE_STATE_DIR: paths.state };
    const mine = () => api.heartbeats.filter((hb) => hb.deviceId === deviceId).map((hb) => hb.sequence);

    // First run: the first heartbeat goes out at once, the next one an interval (5 s ±10 %) later.
    const first = startAgent(['run'], env);
    await waitFor('two heartbeats', () => mine().length >= 2);
    first.child.kill('SIGTERM');
    const firstResult = await first.exited;
    expect(firstResult.code).toBe(0);
    const sequences = mine();
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(sequences.length);

    const logs = firstResult.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; msg: string; sequence?: number });
    expect(logs[0]?.msg).toBe('agent started');
    expect(logs.filter((l) => l.msg === 'heartbeat acknowledged').map((l) => l.sequence)).toEqual(sequences);
    expect(logs.at(-1)?.msg).toBe('agent stopped');
    expect(firstResult.stdout + firstResult.stderr).not.toContain(credential);

    const status = await runAgent(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`last acknowledged heartbeat: sequence ${sequences.at(-1)} at`);
    expect(status.stdout).not.toContain(credential);

    // Second run: the sequence continues; SIGTERM while a heartbeat is in flight lets it finish.
    api.heartbeatDelayMs = 1000;
    const waiting = startAgent(['status', '--wait-for-ack', '20'], env);
    const second = startAgent(['run'], env);
    try {
      await waitFor('a heartbeat in flight', () => api.pendingHeartbeats > 0);
      second.child.kill('SIGTERM');
      const secondResult = await second.exited;
      expect(secondResult.code).toBe(0);
      expect(mine()).toEqual([...sequences, sequences.at(-1)! + 1]);
      expect(secondResult.stdout).toContain('"msg":"heartbeat acknowledged"');
      const waited = await waiting.exited;
      expect(waited.code).toBe(0);
      expect(waited.stdout).toContain(`last acknowledged heartbeat: sequence ${sequences.at(-1)! + 1} at`);
    } finally {
      api.heartbeatDelayMs = 0;
    }

    // Nothing running: waiting for a new acknowledgement times out with exit 1.
    const timedOut = await runAgent(['status', '--wait-for-ack', '1'], env);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toContain('no acknowledged heartbeat within 1 s');
  }, 60_000);

  it('refuses a second run on the same state directory (exit 9), and a killed agent leaves no stale lock', async () => {
    const { deviceId } = await enroll();
    const env = { XSPECTRE_CONFIG: paths.config, XSPECTRE_STATE_DIR: paths.state };
    const mine = () => api.heartbeats.filter((hb) => hb.deviceId === deviceId).map((hb) => hb.sequence);
    const first = startAgent(['run'], env);
    await waitFor('a heartbeat', () => mine().length >= 1);

    // The same directory through a symlink is the same lock.
    const alias = join(work, 'state-link');
    await symlink(paths.state, alias);
    const second = await runAgent(['run'], { ...env, XSPECTRE_STATE_DIR: alias });
    expect(second.code).toBe(9);
    expect(second.stderr).toContain('another xspectre-agent is already running');
    expect(first.child.exitCode).toBeNull();
    const sent = mine();
    expect(new Set(sent).size).toBe(sent.length);

    // SIGKILL: no cleanup ran, yet the next agent starts and continues the sequence.
    first.child.kill('SIGKILL');
    await first.exited;
    const third = startAgent(['run'], env);
    await waitFor('a heartbeat from the restarted agent', () => mine().length > sent.length);
    third.child.kill('SIGTERM');
    expect((await third.exited).code).toBe(0);
    expect(mine()[sent.length]).toBeGreaterThan(sent.at(-1)!);
  }, 60_000);
});
