import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  COMMAND_TTL_MS,
  type CommandEnvelope,
  type CommandStatusReport,
  type RecoveryHardware,
  type SignedCommand,
} from '@xspectre/contracts';
import { commandKeyId, signCommand } from '@xspectre/contracts/command-signature';
import { CommandApiError } from '../commands/command-api.js';
import { ReplayGuard } from '../commands/replay-guard.js';
import { ApiUnreachableError } from '../http.js';
import type { ActionOutcome } from './actions.js';
import type { RecoveryApi } from './recovery-api.js';
import { RecoveryLoop, type RecoveryLoopDeps } from './recovery-loop.js';

const signer = generateKeyPairSync('ed25519');
const deviceId = randomUUID();
const pinnedKeys = [
  { keyId: commandKeyId(signer.publicKey), publicKeyPem: signer.publicKey.export({ format: 'pem', type: 'spki' }).toString() },
];
const hardware: RecoveryHardware = { firmware: 'bios', cpuModel: null, cpus: 1, memoryBytes: 1, disks: [], nics: [] };

function sign(overrides: Partial<CommandEnvelope> = {}, key = signer.privateKey): SignedCommand {
  const issuedAt = new Date(Date.now() - 1000).toISOString();
  return signCommand(key, {
    v: 1,
    keyId: commandKeyId(key),
    commandId: randomUUID(),
    deviceId,
    action: 'recovery.smart',
    params: {},
    nonce: randomBytes(16).toString('hex'),
    issuedAt,
    expiresAt: new Date(Date.parse(issuedAt) + COMMAND_TTL_MS).toISOString(),
    ...overrides,
  });
}

/** A scripted API: poll answers in order, then the loop stops (maxPolls). */
function fakeApi(polls: unknown[][], failures: { register?: number; poll?: number } = {}) {
  const reports: Array<[string, CommandStatusReport]> = [];
  const registered: unknown[] = [];
  const progress: unknown[] = [];
  let registerFailures = failures.register ?? 0;
  let pollFailures = failures.poll ?? 0;
  const api: RecoveryApi = {
    async register(body) {
      if (registerFailures-- > 0) throw new ApiUnreachableError('http://api/agent/recovery/register', 'ECONNREFUSED');
      registered.push(body);
      return { deviceId, mediumId: randomUUID(), serverTime: new Date().toISOString(), backupUrl: null };
    },
    async poll() {
      if (pollFailures-- > 0) throw new CommandApiError(503, 'UNAVAILABLE', 'down');
      return { commands: polls.shift() ?? [], serverTime: new Date().toISOString() };
    },
    async report(commandId, report) {
      reports.push([commandId, report]);
      return { kind: 'accepted' };
    },
    async progress(body) {
      progress.push(body);
    },
    async imageToken() {
      throw new Error('not in this test');
    },
    async reportImage() {
      throw new Error('not in this test');
    },
  };
  return { api, reports, registered, progress };
}

let dir: string;
let guard: ReplayGuard;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xs-recovery-loop-'));
  guard = (await ReplayGuard.open(dir, new Date(), { maxClockSkewMs: 60_000 })).guard;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function loop(api: RecoveryApi, polls: number, runAction: RecoveryLoopDeps['runAction'], lines: string[] = []) {
  return new RecoveryLoop({
    deviceId,
    pinnedKeys,
    api,
    guard,
    hardware,
    agentVersion: 'test',
    recipeHash: null,
    kernel: '6.1.0',
    runAction,
    say: (event, fields) => lines.push(`${event} ${JSON.stringify(fields ?? {})}`),
    shutdown: new AbortController().signal,
    minBackoffMs: 1,
    maxBackoffMs: 2,
    maxPolls: polls,
  });
}

describe('RecoveryLoop', () => {
  it('registers with a fresh boot id (retrying while the API is down), runs a command and reports running then its outcome', async () => {
    const command = sign();
    const { api, reports, registered, progress } = fakeApi([[command]], { register: 2, poll: 1 });
    const ran: string[] = [];
    const lines: string[] = [];
    const l = loop(
      api,
      2,
      async (action, _params, id, hooks) => {
        ran.push(`${action} ${id}`);
        hooks.progress({ phase: 'reading', bytesDone: 5, bytesTotal: 10, rateBytesPerSecond: 5, etaSeconds: 1 });
        return { status: 'succeeded', stdout: 'sda: PASSED\n' };
      },
      lines,
    );
    await l.run();
    expect(registered).toEqual([{ bootId: l.bootId, agentVersion: 'test', recipeHash: null, kernel: '6.1.0', hardware }]);
    expect(ran).toEqual([`recovery.smart ${command.commandId}`]);
    expect(reports).toEqual([
      [command.commandId, { status: 'running' }],
      [command.commandId, { status: 'succeeded', stdout: 'sda: PASSED\n' }],
    ]);
    expect(progress).toEqual([
      { commandId: command.commandId, phase: 'reading', bytesDone: 5, bytesTotal: 10, rateBytesPerSecond: 5, etaSeconds: 1 },
    ]);
    expect(lines.filter((x) => x.startsWith('register fail'))).toHaveLength(2);
    expect(lines.some((x) => x.startsWith('poll fail'))).toBe(true);
  });

  it('rejects a forged signature, another device, a non-recovery action and a replay; runs nothing of them', async () => {
    const stranger = generateKeyPairSync('ed25519');
    const forged = { ...sign({}, stranger.privateKey), keyId: commandKeyId(signer.publicKey) };
    const otherDevice = sign({ deviceId: randomUUID() });
    const normal = sign({ action: 'agent.restart', params: {} });
    const once = sign();
    const replay = { ...sign({ nonce: once.nonce }) };
    const { api, reports } = fakeApi([[forged, otherDevice, normal, once], [replay]]);
    const ran: string[] = [];
    await loop(api, 2, async (_a, _p, id) => {
      ran.push(id);
      return { status: 'succeeded' };
    }).run();
    expect(ran).toEqual([once.commandId]);
    const byId = new Map(reports.filter(([, r]) => r.status === 'rejected').map(([id, r]) => [id, r.reason]));
    expect(byId.get(forged.commandId)).toBe('bad signature');
    expect(byId.get(otherDevice.commandId)).toBe("another device's id");
    expect(byId.get(normal.commandId)).toMatch(
      /denied by local policy \(the recovery system runs only recovery\.\* actions\)|unknown action/,
    );
    expect(byId.get(replay.commandId)).toBe('replayed nonce');
  });

  it('answers a redelivery with the known outcome without running it again, and runs `after` once reported', async () => {
    const command = sign({ action: 'recovery.reboot' });
    const { api, reports } = fakeApi([[command], [command]]);
    const order: string[] = [];
    let runs = 0;
    await loop(api, 2, async (): Promise<ActionOutcome> => {
      runs++;
      return {
        status: 'succeeded',
        after: async () => {
          order.push(`after (reports so far: ${reports.length})`);
        },
      };
    }).run();
    expect(runs).toBe(1);
    expect(order).toEqual(['after (reports so far: 2)']);
    expect(reports.map(([, r]) => r.status)).toEqual(['running', 'succeeded', 'succeeded']);
  });

  it('a failing action is reported failed with its reason', async () => {
    const command = sign({ action: 'recovery.image', params: { imageName: '2026-12-05T030000Z', disks: [], compressionLevel: 3 } });
    const { api, reports } = fakeApi([[command]]);
    await loop(api, 1, async () => {
      throw new Error('zstd is not installed');
    }).run();
    expect(reports.at(-1)).toEqual([command.commandId, { status: 'failed', reason: 'zstd is not installed' }]);
  });
});
