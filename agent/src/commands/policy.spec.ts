import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMAND_ACTIONS } from '@xspectre/contracts';
import type { Logger } from '../log.js';
import { decideAction, LocalPolicyFile, loadLocalPolicy, REQUIRES_EXPLICIT_ALLOW } from './policy.js';

function recordingLog() {
  const lines: { level: string; msg: string; fields?: object }[] = [];
  const log: Logger = {
    info: (msg, fields) => lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => lines.push({ level: 'error', msg, fields }),
  };
  return { log, lines };
}

describe('decideAction', () => {
  it('allows every action of the registry but script runs and agent updates when the policy is empty (absent file)', () => {
    expect([...REQUIRES_EXPLICIT_ALLOW]).toEqual(['script.run', 'agent.update']);
    for (const action of COMMAND_ACTIONS.filter((a) => !REQUIRES_EXPLICIT_ALLOW.has(a))) {
      expect(decideAction({}, action)).toEqual({ allowed: true });
    }
  });

  it.each(['script.run', 'agent.update'])('runs %s only where the policy names it in allow (not by an absent file, not by *)', (action) => {
    const needs = { allowed: false, why: 'this action needs an explicit allow' };
    expect(decideAction({}, action)).toEqual(needs);
    expect(decideAction({ allow: ['*'] }, action)).toEqual(needs);
    expect(decideAction({ allow: ['reboot'] }, action)).toEqual(needs);
    expect(decideAction({ allow: [action] }, action)).toEqual({ allowed: true });
    expect(decideAction({ allow: [action], deny: [action] }, action).allowed).toBe(false);
    expect(decideAction({ allow: [action], deny: ['*'] }, action).allowed).toBe(false);
  });

  it('lets deny win over allow, and * deny everything', () => {
    expect(decideAction({ allow: ['reboot'], deny: ['reboot'] }, 'reboot').allowed).toBe(false);
    expect(decideAction({ allow: ['*'], deny: ['reboot'] }, 'reboot').allowed).toBe(false);
    expect(decideAction({ allow: ['*'], deny: ['reboot'] }, 'service.restart').allowed).toBe(true);
    expect(decideAction({ deny: ['*'] }, 'diagnostics.collect')).toEqual({ allowed: false, why: 'the deny list names it' });
  });

  it('with an allow list, allows only what it names (or *)', () => {
    const policy = { allow: ['service.restart', 'diagnostics.collect'] };
    expect(decideAction(policy, 'service.restart').allowed).toBe(true);
    expect(decideAction(policy, 'reboot')).toEqual({ allowed: false, why: 'the allow list does not name it' });
    expect(decideAction({ allow: [] }, 'reboot').allowed).toBe(false);
    expect(decideAction({ allow: ['*'] }, 'reboot').allowed).toBe(true);
  });

  it('allows an action marked requiresExplicitAllow only when allow names it (not by absence, not by *)', () => {
    const explicit = new Set(['script.run']);
    expect(decideAction({}, 'script.run', explicit)).toEqual({ allowed: false, why: 'this action needs an explicit allow' });
    expect(decideAction({ allow: ['*'] }, 'script.run', explicit).allowed).toBe(false);
    expect(decideAction({ allow: ['script.run'] }, 'script.run', explicit).allowed).toBe(true);
    expect(decideAction({ allow: ['script.run'], deny: ['script.run'] }, 'script.run', explicit).allowed).toBe(false);
    expect(decideAction({}, 'reboot', explicit).allowed).toBe(true);
  });
});

describe('the policy file', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-policy-'));
    path = join(dir, 'policy.json');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('absent: the empty policy', async () => {
    expect(await loadLocalPolicy(path)).toEqual({ ok: true, policy: {}, absent: true });
  });

  it('reads allow and deny lists', async () => {
    await writeFile(path, JSON.stringify({ allow: ['service.restart', '*'], deny: ['reboot'] }));
    expect(await loadLocalPolicy(path)).toEqual({ ok: true, policy: { allow: ['service.restart', '*'], deny: ['reboot'] }, absent: false });
  });

  it.each([
    ['not JSON', '{allow:', 'not valid JSON'],
    ['empty', '', 'not valid JSON'],
    ['an array', '["reboot"]', '(root)'],
    ['an unknown key', '{"alow":["reboot"]}', 'alow'],
    ['a name that is not an action name', '{"deny":["Reboot now"]}', 'deny.0'],
    ['a string instead of a list', '{"deny":"reboot"}', 'deny'],
  ])('malformed (%s): a problem', async (_what, text, mentions) => {
    await writeFile(path, text);
    const loaded = await loadLocalPolicy(path);
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.problem).toContain(mentions);
  });

  it('a malformed file denies every action and is logged once per problem', async () => {
    const { log, lines } = recordingLog();
    const policy = new LocalPolicyFile(path, log);
    expect(await policy.check('reboot')).toEqual({ allowed: true });
    await writeFile(path, '{"allow": ["reboot"],}');
    for (const action of COMMAND_ACTIONS) expect((await policy.check(action)).allowed).toBe(false);
    expect(await policy.check('reboot')).toEqual({ allowed: false, why: `${path} is malformed, so every action is denied` });
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: expect.stringContaining('every remote action is denied') as string, fields: { path } });

    // Fixed by hand: applies at the next command, no restart.
    await writeFile(path, '{"deny": ["reboot"]}');
    expect(await policy.check('reboot')).toEqual({ allowed: false, why: `${path}: the deny list names it` });
    expect(await policy.check('service.restart')).toEqual({ allowed: true });
    // Broken again: logged again.
    await writeFile(path, 'nope');
    expect((await policy.check('service.restart')).allowed).toBe(false);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(2);
  });

  it('an unreadable file denies everything (fail closed)', async () => {
    await mkdir(path); // EISDIR, for root too (file modes would not stop root)
    expect(await loadLocalPolicy(path)).toEqual({ ok: false, problem: 'cannot read it (EISDIR)' });
    const { log } = recordingLog();
    expect((await new LocalPolicyFile(path, log).check('reboot')).allowed).toBe(false);
  });
});
