import { SCRIPT_ARG_MAX_CHARS, SCRIPT_ARGS_MAX, SCRIPT_CONTENT_MAX_BYTES } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import {
  argsText,
  buildScriptRunParams,
  contentSize,
  emptyScriptForm,
  scriptFormOf,
  scriptRunText,
  shortSha,
  utf8Bytes,
  validateScriptForm,
} from './scripts';

const SCRIPT_ID = '0b7f4a4e-2a54-4c33-9b1e-6d1a1f0c9a01';
const form = (changes: Partial<ReturnType<typeof emptyScriptForm>> = {}) => ({
  ...emptyScriptForm(),
  name: 'Clean up /tmp',
  content: '#!/bin/bash\nrm -rf /tmp/scan-*\n',
  ...changes,
});

describe('script library editor', () => {
  it('builds the body the API takes, with the contract defaults and trimming', () => {
    expect(validateScriptForm(form({ name: '  Clean up /tmp ', timeoutSeconds: ' 120 ' }))).toEqual({
      ok: true,
      body: {
        name: 'Clean up /tmp',
        description: '',
        interpreter: 'bash',
        timeoutSeconds: 120,
        content: '#!/bin/bash\nrm -rf /tmp/scan-*\n',
      },
    });
    expect(emptyScriptForm().timeoutSeconds).toBe('600');
  });

  it('names every bad field with the contract message, before anything is sent', () => {
    const r = validateScriptForm(form({ name: ' ', content: '', timeoutSeconds: '0' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.name).toBe('must not be empty');
    expect(r.errors.content).toBe('must not be empty');
    expect(r.errors.timeoutSeconds).toMatch(/>=\s*1|at least|too small/i);
  });

  it('refuses a timeout that is not a whole number, one over an hour, a control character in the name and NUL in the content', () => {
    for (const timeoutSeconds of ['', '1.5', '-3', 'ten', '1e3']) {
      const r = validateScriptForm(form({ timeoutSeconds }));
      expect(r.ok, timeoutSeconds).toBe(false);
      if (!r.ok) expect(r.errors.timeoutSeconds, timeoutSeconds).toBe('must be a whole number of seconds');
    }
    const long = validateScriptForm(form({ timeoutSeconds: '3601' }));
    expect(long.ok).toBe(false);
    expect(validateScriptForm(form({ timeoutSeconds: '3600' })).ok).toBe(true);
    const name = validateScriptForm(form({ name: 'a\u0007b' }));
    expect(!name.ok && name.errors.name).toBe('must not contain control characters');
    const nul = validateScriptForm(form({ content: 'echo\u0000' }));
    expect(!nul.ok && nul.errors.content).toMatch(/NUL/);
  });

  it('counts the content in UTF-8 bytes against the contract limit', () => {
    expect(utf8Bytes('é')).toBe(2);
    expect(contentSize('')).toEqual({ text: '0 B of 256 KiB', over: false, bytes: 0 });
    expect(contentSize('x'.repeat(1536)).text).toBe('1.5 KiB of 256 KiB');
    const atLimit = 'x'.repeat(SCRIPT_CONTENT_MAX_BYTES);
    expect(contentSize(atLimit).over).toBe(false);
    expect(validateScriptForm(form({ content: atLimit })).ok).toBe(true);
    // One two-byte character more is over, though the character count is at the limit.
    const over = 'é' + 'x'.repeat(SCRIPT_CONTENT_MAX_BYTES - 1);
    expect(contentSize(over).over).toBe(true);
    const r = validateScriptForm(form({ content: over }));
    expect(!r.ok && r.errors.content).toBe(`must be at most ${SCRIPT_CONTENT_MAX_BYTES} bytes (UTF-8)`);
  });

  it('fills the editor from a script', () => {
    expect(scriptFormOf({ name: 'n', description: 'd', interpreter: 'python3', timeoutSeconds: 30, content: 'print(1)' })).toEqual({
      name: 'n',
      description: 'd',
      interpreter: 'python3',
      timeoutSeconds: '30',
      content: 'print(1)',
    });
    expect(shortSha('a'.repeat(64))).toBe('a'.repeat(12));
  });
});

describe('script runs', () => {
  it('sends each argument as typed, one argv entry each (never split or trimmed)', () => {
    expect(buildScriptRunParams(SCRIPT_ID, ['--path', ' two words ', '', '$(reboot)'])).toEqual({
      ok: true,
      params: { scriptId: SCRIPT_ID, args: ['--path', ' two words ', '', '$(reboot)'] },
    });
    expect(buildScriptRunParams(SCRIPT_ID, [])).toEqual({ ok: true, params: { scriptId: SCRIPT_ID, args: [] } });
  });

  it('refuses a missing script, a bad argument (by position), too many and too large arguments', () => {
    expect(buildScriptRunParams('', [])).toMatchObject({ ok: false, error: 'Choose a script.' });
    const bad = buildScriptRunParams(SCRIPT_ID, ['ok', 'nul\u0000', 'x'.repeat(SCRIPT_ARG_MAX_CHARS + 1)]);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(Object.keys(bad.argErrors)).toEqual(['1', '2']);
      expect(bad.argErrors[1]).toMatch(/NUL/);
      expect(bad.argErrors[2]).toBe(`must be at most ${SCRIPT_ARG_MAX_CHARS} characters`);
    }
    expect(
      buildScriptRunParams(
        SCRIPT_ID,
        Array.from({ length: SCRIPT_ARGS_MAX + 1 }, () => 'a'),
      ),
    ).toMatchObject({ ok: false });
    // 32 arguments of 1024 quotes: each within its limit, together over 32 KiB of JSON.
    const together = buildScriptRunParams(
      SCRIPT_ID,
      Array.from({ length: SCRIPT_ARGS_MAX }, () => '"'.repeat(SCRIPT_ARG_MAX_CHARS)),
    );
    expect(together).toMatchObject({ ok: false, error: expect.stringMatching(/together/) });
    expect(buildScriptRunParams('not-a-uuid', [])).toMatchObject({ ok: false });
  });

  it('shows arguments so that one argument with a space and two arguments look different', () => {
    expect(argsText(['a b'])).toBe('"a b"');
    expect(argsText(['a', 'b'])).toBe('a b');
    expect(argsText(['', 'say "hi"', 'c:\\x', '--flag'])).toBe('"" "say \\"hi\\"" "c:\\\\x" --flag');
    expect(scriptRunText({ scriptId: SCRIPT_ID, args: ['-v', 'x y'] }, 'Clean up')).toBe('Clean up -v "x y"');
    expect(scriptRunText({ scriptId: SCRIPT_ID, args: [] }, undefined)).toBe('script 0b7f4a4e');
  });
});
