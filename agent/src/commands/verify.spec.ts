import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMAND_TTL_MS, type CommandEnvelope, type SignedCommand } from '@xspectre/contracts';
import { commandKeyId, signCommand } from '@xspectre/contracts/command-signature';
import type { Logger } from '../log.js';
import { LocalPolicyFile } from './policy.js';
import { ReplayGuard } from './replay-guard.js';
import { claimedCommandId, pinnedCommandKeys, verifySignedCommand, type VerifyContext } from './verify.js';

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const pem = (key: ReturnType<typeof generateKeyPairSync>['publicKey']) => key.export({ format: 'pem', type: 'spki' }).toString();

const pinned = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const deviceId = randomUUID();
const NOW = new Date('2026-06-01T12:00:00.000Z');

function sign(overrides: Partial<CommandEnvelope> = {}, key = pinned.privateKey): SignedCommand {
  const issuedAt = overrides.issuedAt ?? new Date(NOW.getTime() - 1000).toISOString();
  return signCommand(key, {
    v: 1,
    keyId: commandKeyId(key),
    commandId: randomUUID(),
    deviceId,
    action: 'service.restart',
    params: { unit: 'nginx.service' },
    nonce: randomBytes(16).toString('hex'),
    issuedAt,
    expiresAt: new Date(Date.parse(issuedAt) + COMMAND_TTL_MS).toISOString(),
    ...overrides,
  });
}

let dir: string;
let guard: ReplayGuard;
let ctx: VerifyContext;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xspectre-verify-'));
  guard = (await ReplayGuard.open(join(dir, 'commands'), NOW, { maxClockSkewMs: 30_000 })).guard;
  ctx = {
    deviceId,
    pinnedKeys: pinnedCommandKeys({ commandSigningKeys: [{ keyId: commandKeyId(pinned.publicKey), publicKeyPem: pem(pinned.publicKey) }] }),
    now: NOW,
    guard,
    policy: new LocalPolicyFile(join(dir, 'policy.json'), quiet),
    unsupported: () => Promise.resolve(null),
  };
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const reasonOf = async (raw: unknown, context = ctx) => {
  const verdict = await verifySignedCommand(raw, context);
  return verdict.kind === 'reject' ? verdict.reason : 'accepted';
};

describe('verifySignedCommand', () => {
  it('accepts a well-signed command for this device within its window', async () => {
    const command = sign();
    const verdict = await verifySignedCommand(JSON.parse(JSON.stringify(command)), ctx);
    expect(verdict).toMatchObject({
      kind: 'accept',
      redelivery: false,
      envelope: { commandId: command.commandId, action: 'service.restart' },
    });
  });

  it('names each rejection the API shows', async () => {
    const unsigned: Partial<SignedCommand> = sign();
    delete unsigned.signature;
    expect(await reasonOf(unsigned)).toBe('malformed: not a signed command envelope');
    expect(await reasonOf(sign({}, stranger.privateKey))).toBe('unknown key id: not among the keys this device pinned');
    const good = sign();
    expect(await reasonOf({ ...good, params: { unit: 'sshd.service' } })).toBe('bad signature');
    expect(await reasonOf(sign({ deviceId: randomUUID() }))).toBe("another device's id");
    expect(await reasonOf(sign({ issuedAt: new Date(NOW.getTime() - COMMAND_TTL_MS - 31_000).toISOString() }))).toMatch(
      /^expired at .*\(the device's estimate of the API's time: 2026-06-01T12:00:00.000Z\)$/,
    );
    expect(await reasonOf(sign({ issuedAt: new Date(NOW.getTime() + 31_000).toISOString() }))).toMatch(/^not yet valid: issued at /);
    expect(await reasonOf(sign({ action: 'firmware.flash', params: {} }))).toBe('unknown action firmware.flash');
    expect(await reasonOf(sign({ params: { unit: '-x.service' } }))).toMatch(/^params do not match the action service.restart: unit: /);
    expect(await reasonOf(sign({ params: { unit: 'a.service', extra: 1 } }))).toMatch(/^params do not match the action service.restart/);
    expect(await reasonOf(sign({ action: 'reboot', params: { now: true } }))).toMatch(/^params do not match the action reboot/);
  });

  it('judges the window by the estimate of the API clock it is given (within the skew)', async () => {
    const command = sign({ issuedAt: '2026-06-01T11:56:00.000Z' }); // expires 12:01:00
    expect(await reasonOf(command, { ...ctx, now: new Date('2026-06-01T12:01:29.999Z') })).toBe('accepted');
    expect(await reasonOf(command, { ...ctx, now: new Date('2026-06-01T12:01:30.000Z') })).toMatch(/^expired at 2026-06-01T12:01:00.000Z/);
  });

  it('refuses a nonce already used under another command id, and recognises a redelivery', async () => {
    const first = sign();
    await guard.record(first.commandId, first.nonce, first.expiresAt, NOW);
    expect(await reasonOf(sign({ nonce: first.nonce }))).toBe('replayed nonce');
    expect(await reasonOf(sign({ commandId: first.commandId }))).toBe('replayed nonce');
    expect(await verifySignedCommand(first, ctx)).toMatchObject({ kind: 'accept', redelivery: true });
    // A redelivery is recognised even once expired, so its known status can be reported again.
    const late = { ...ctx, now: new Date(NOW.getTime() + COMMAND_TTL_MS + 60_000) };
    expect(await verifySignedCommand(first, late)).toMatchObject({ kind: 'reject', redelivery: true, authentic: true });
  });

  it('checks replay before expiry, signature before everything it signs', async () => {
    const first = sign({ issuedAt: new Date(NOW.getTime() - COMMAND_TTL_MS - 60_000).toISOString() });
    await guard.record(randomUUID(), first.nonce, first.expiresAt, NOW);
    expect(await reasonOf(first)).toBe('replayed nonce');
    // A forged copy with a used nonce is a bad signature, not a replay.
    expect(await reasonOf({ ...first, action: 'reboot', params: {} })).toBe('bad signature');
  });

  it('applies the local policy, then the host check', async () => {
    await writeFile(join(dir, 'policy.json'), JSON.stringify({ deny: ['service.restart'] }));
    expect(await reasonOf(sign())).toBe(`denied by local policy (${join(dir, 'policy.json')}: the deny list names it)`);
    await writeFile(join(dir, 'policy.json'), '{"deny": [');
    expect(await reasonOf(sign({ action: 'diagnostics.collect', params: {} }))).toMatch(/^denied by local policy \(.* is malformed/);
    await rm(join(dir, 'policy.json'));
    const noSystemd = {
      ...ctx,
      unsupported: (action: string) => Promise.resolve(action === 'service.restart' ? 'systemd is not running' : null),
    };
    expect(await reasonOf(sign(), noSystemd)).toBe('unsupported on this host: systemd is not running');
    expect(await reasonOf(sign({ action: 'diagnostics.collect', params: {} }), noSystemd)).toBe('accepted');
  });

  it('changes nothing on any rejection (zero side effects)', async () => {
    const before = await readdir(dir, { recursive: true });
    const seenBefore = await readFile(join(dir, 'commands', 'nonces.json'), 'utf8').catch(() => null);
    const bad = [sign({}, stranger.privateKey), sign({ deviceId: randomUUID() }), sign({ action: 'nope', params: {} })];
    for (const raw of bad) expect((await verifySignedCommand(raw, ctx)).kind).toBe('reject');
    expect(guard.size).toBe(0);
    expect(await readdir(dir, { recursive: true })).toEqual(before);
    expect(await readFile(join(dir, 'commands', 'nonces.json'), 'utf8').catch(() => null)).toBe(seenBefore);
    // Verification never records: even an accepted command leaves the guard untouched until the loop records it.
    await verifySignedCommand(sign(), ctx);
    expect(guard.size).toBe(0);
  });

  it('reads the claimed id of whatever arrived, only when it is a UUID', () => {
    const id = randomUUID();
    expect(claimedCommandId({ commandId: id })).toBe(id);
    expect(claimedCommandId({ commandId: '../../etc' })).toBeUndefined();
    expect(claimedCommandId(null)).toBeUndefined();
    expect(claimedCommandId('x')).toBeUndefined();
  });
});
