import { describe, expect, it } from 'vitest';
import { COMMAND_ACTION_PARAMS, CommandRequestSchema } from './commands.js';
import { COMMAND_PARAMS_MAX_BYTES } from './command-envelope.js';
import {
  CreateScriptSchema,
  SCRIPT_ARG_MAX_CHARS,
  SCRIPT_ARGS_MAX,
  SCRIPT_CONTENT_MAX_BYTES,
  SCRIPT_INTERPRETER_PATHS,
  SCRIPT_INTERPRETERS,
  ScriptRunParamsSchema,
} from './scripts.js';

const SCRIPT_ID = '4f1c2a9e-8b7d-4c3e-9a1f-0123456789ab';
const SHA = 'a'.repeat(64);
const script = { name: 'Rotate logs', interpreter: 'bash', content: '#!/bin/bash\necho hi\n' };
const issues = (r: { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } }) =>
  r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

describe('script library schemas', () => {
  it('accepts a script and fills the defaults', () => {
    expect(CreateScriptSchema.parse(script)).toEqual({ ...script, description: '', timeoutSeconds: 600 });
    expect(CreateScriptSchema.parse({ ...script, name: '  Padded  ', timeoutSeconds: 3600 })).toMatchObject({ name: 'Padded' });
  });

  it('refuses an empty or control-character name, a bad interpreter, a bad timeout, unknown keys', () => {
    for (const bad of [
      { ...script, name: '' },
      { ...script, name: '   ' },
      { ...script, name: 'a\nb' },
      { ...script, name: 'x'.repeat(121) },
      { ...script, interpreter: 'perl' },
      { ...script, interpreter: '/bin/bash' },
      { ...script, timeoutSeconds: 0 },
      { ...script, timeoutSeconds: 3601 },
      { ...script, timeoutSeconds: 1.5 },
      { ...script, sha256: SHA },
      { ...script, description: 'd'.repeat(2001) },
    ])
      expect(CreateScriptSchema.safeParse(bad).success, JSON.stringify(bad).slice(0, 80)).toBe(false);
  });

  it('bounds the content by its UTF-8 bytes and refuses NUL, unpaired surrogates and empty content', () => {
    expect(CreateScriptSchema.safeParse({ ...script, content: 'x'.repeat(SCRIPT_CONTENT_MAX_BYTES) }).success).toBe(true);
    const tooBig = CreateScriptSchema.safeParse({ ...script, content: 'x'.repeat(SCRIPT_CONTENT_MAX_BYTES + 1) });
    expect(issues(tooBig)).toEqual([`content: must be at most ${SCRIPT_CONTENT_MAX_BYTES} bytes (UTF-8)`]);
    // 3 bytes each in UTF-8: fewer characters than the limit, more bytes.
    expect(CreateScriptSchema.safeParse({ ...script, content: '€'.repeat(SCRIPT_CONTENT_MAX_BYTES / 2) }).success).toBe(false);
    for (const content of ['', 'echo \u0000', 'echo \uD800'])
      expect(CreateScriptSchema.safeParse({ ...script, content }).success, JSON.stringify(content)).toBe(false);
  });

  it('maps every interpreter to an absolute path', () => {
    expect(Object.keys(SCRIPT_INTERPRETER_PATHS).sort()).toEqual([...SCRIPT_INTERPRETERS].sort());
    for (const path of Object.values(SCRIPT_INTERPRETER_PATHS)) expect(path).toMatch(/^\/[a-z/]+[a-z0-9]$/);
  });
});

describe('script.run', () => {
  it('the operator names the script and its arguments; hash, interpreter and timeout are not theirs to send', () => {
    expect(CommandRequestSchema.parse({ action: 'script.run', params: { scriptId: SCRIPT_ID } })).toEqual({
      action: 'script.run',
      params: { scriptId: SCRIPT_ID, args: [] },
    });
    expect(
      CommandRequestSchema.safeParse({ action: 'script.run', params: { scriptId: SCRIPT_ID, args: ['-v', '$HOME', 'a b'] } }).success,
    ).toBe(true);
    for (const extra of [{ sha256: SHA }, { interpreter: 'bash' }, { timeoutSeconds: 5 }])
      expect(CommandRequestSchema.safeParse({ action: 'script.run', params: { scriptId: SCRIPT_ID, ...extra } }).success).toBe(false);
    expect(CommandRequestSchema.safeParse({ action: 'script.run', params: { scriptId: 'nope' } }).success).toBe(false);
  });

  it('bounds the arguments: count, length, NUL, total size', () => {
    const run = (args: unknown) => CommandRequestSchema.safeParse({ action: 'script.run', params: { scriptId: SCRIPT_ID, args } }).success;
    expect(run(Array(SCRIPT_ARGS_MAX).fill('x'))).toBe(true);
    expect(run(Array(SCRIPT_ARGS_MAX + 1).fill('x'))).toBe(false);
    expect(run(['x'.repeat(SCRIPT_ARG_MAX_CHARS)])).toBe(true);
    expect(run(['x'.repeat(SCRIPT_ARG_MAX_CHARS + 1)])).toBe(false);
    expect(run(['a\u0000b'])).toBe(false);
    expect(run(['\uDC00'])).toBe(false);
    expect(run('one string')).toBe(false);
    expect(run([1])).toBe(false);
    // Every character escaped in JSON: the largest accepted arguments still fit the signed envelope.
    expect(run(Array(SCRIPT_ARGS_MAX).fill('\u0001'.repeat(SCRIPT_ARG_MAX_CHARS)))).toBe(false);
  });

  it('the signed params carry the hash, interpreter and timeout, strictly', () => {
    const signed = { scriptId: SCRIPT_ID, sha256: SHA, interpreter: 'sh', timeoutSeconds: 600, args: ['x'] };
    expect(COMMAND_ACTION_PARAMS['script.run']).toBe(ScriptRunParamsSchema);
    expect(ScriptRunParamsSchema.safeParse(signed).success).toBe(true);
    for (const bad of [
      { ...signed, sha256: SHA.toUpperCase() },
      { ...signed, sha256: 'a'.repeat(63) },
      { ...signed, interpreter: 'zsh' },
      { ...signed, timeoutSeconds: 0 },
      { ...signed, extra: true },
      { scriptId: SCRIPT_ID, args: [] },
    ])
      expect(ScriptRunParamsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    // Near the arguments' total bound: accepted, and well inside the envelope's params bound.
    const big = { ...signed, args: Array(SCRIPT_ARGS_MAX).fill('x'.repeat(1000)) };
    expect(ScriptRunParamsSchema.safeParse(big).success).toBe(true);
    expect(new TextEncoder().encode(JSON.stringify(big)).length).toBeLessThan(COMMAND_PARAMS_MAX_BYTES);
    expect(
      ScriptRunParamsSchema.safeParse({ ...signed, args: Array(SCRIPT_ARGS_MAX).fill('€'.repeat(SCRIPT_ARG_MAX_CHARS)) }).success,
    ).toBe(false);
  });
});
