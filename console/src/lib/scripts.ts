import {
  CreateScriptSchema,
  SCRIPT_ARGS_MAX,
  SCRIPT_CONTENT_MAX_BYTES,
  SCRIPT_TIMEOUT_DEFAULT_SECONDS,
  ScriptArgSchema,
  ScriptArgsSchema,
  ScriptRunRequestParamsSchema,
  type CreateScript,
  type Script,
  type ScriptInterpreter,
} from '@xspectre/contracts';
import { bytes } from './format';

/**
 * The script library's pure parts: the editor's validation (the contract's own schema, so the
 * console refuses exactly what the API would), the size counter, and how a script run's
 * arguments are built and shown. The page (`app/(console)/admin/scripts`) and the Actions menu
 * (`components/script-run-fields.tsx`) read it; its tests are beside it.
 */

/** What the editor holds: text fields as typed (the timeout is a number only once it parses). */
export interface ScriptForm {
  name: string;
  description: string;
  interpreter: ScriptInterpreter;
  timeoutSeconds: string;
  content: string;
}

export type ScriptFormField = keyof ScriptForm;

export function emptyScriptForm(): ScriptForm {
  return { name: '', description: '', interpreter: 'bash', timeoutSeconds: String(SCRIPT_TIMEOUT_DEFAULT_SECONDS), content: '' };
}

export function scriptFormOf(script: Pick<Script, 'name' | 'description' | 'interpreter' | 'timeoutSeconds' | 'content'>): ScriptForm {
  return {
    name: script.name,
    description: script.description,
    interpreter: script.interpreter,
    timeoutSeconds: String(script.timeoutSeconds),
    content: script.content,
  };
}

const encoder = new TextEncoder();

/** What the content limit counts: UTF-8 bytes, not characters. */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/** "1.2 KiB of 256 KiB" for the editor's counter, and whether the content is over the limit. */
export function contentSize(content: string): { text: string; over: boolean; bytes: number } {
  const size = utf8Bytes(content);
  return { text: `${bytes(size)} of ${bytes(SCRIPT_CONTENT_MAX_BYTES)}`, over: size > SCRIPT_CONTENT_MAX_BYTES, bytes: size };
}

/**
 * The body for `POST scripts` / `PUT scripts/:id`, or the contract's messages per field. A
 * timeout that is not a whole number is named here (a number input hands over text).
 */
export function validateScriptForm(
  form: ScriptForm,
): { ok: true; body: CreateScript } | { ok: false; errors: Partial<Record<ScriptFormField, string>> } {
  const timeout = form.timeoutSeconds.trim();
  const timeoutSeconds = /^\d+$/.test(timeout) ? Number(timeout) : Number.NaN;
  const errors: Partial<Record<ScriptFormField, string>> = {};
  if (Number.isNaN(timeoutSeconds)) errors.timeoutSeconds = 'must be a whole number of seconds';
  const parsed = CreateScriptSchema.safeParse({
    name: form.name,
    description: form.description,
    interpreter: form.interpreter,
    content: form.content,
    timeoutSeconds: Number.isNaN(timeoutSeconds) ? SCRIPT_TIMEOUT_DEFAULT_SECONDS : timeoutSeconds,
  });
  if (parsed.success && Object.keys(errors).length === 0) return { ok: true, body: parsed.data };
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    const field = issue.path[0] as ScriptFormField | undefined;
    if (field && !errors[field]) errors[field] = issue.message;
  }
  return { ok: false, errors };
}

/** The first 12 hex digits: enough to tell versions apart in a table (the full hash is in its title and the confirmation). */
export function shortSha(sha256: string): string {
  return sha256.slice(0, 12);
}

/**
 * The params of a `script.run` request: each argument is one argv entry as typed (never split,
 * never trimmed: a space may matter), checked with the contract. `argErrors` names each bad
 * argument by its position.
 */
export function buildScriptRunParams(
  scriptId: string,
  args: readonly string[],
): { ok: true; params: { scriptId: string; args: string[] } } | { ok: false; error: string; argErrors: Record<number, string> } {
  const argErrors: Record<number, string> = {};
  args.forEach((arg, index) => {
    const parsed = ScriptArgSchema.safeParse(arg);
    if (!parsed.success) argErrors[index] = parsed.error.issues[0]?.message ?? 'not a valid argument';
  });
  if (!scriptId) return { ok: false, error: 'Choose a script.', argErrors };
  if (Object.keys(argErrors).length > 0) return { ok: false, error: 'Fix the arguments marked above.', argErrors };
  if (args.length > SCRIPT_ARGS_MAX) return { ok: false, error: `At most ${SCRIPT_ARGS_MAX} arguments.`, argErrors };
  const together = ScriptArgsSchema.safeParse(args);
  if (!together.success) return { ok: false, error: together.error.issues.map((i) => i.message).join('; '), argErrors };
  const params = { scriptId, args: [...args] };
  const parsed = ScriptRunRequestParamsSchema.safeParse(params);
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => i.message).join('; '), argErrors };
  return { ok: true, params };
}

/**
 * Arguments as the operator reads them: each one on its own, quoted when it is empty or holds
 * whitespace, quotes or a backslash, so `a b` (one argument) and `a` `b` (two) look different.
 * For display only: nothing is ever run through a shell.
 */
export function argsText(args: readonly unknown[]): string {
  return args.map((arg) => quoteArg(typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ');
}

function quoteArg(arg: string): string {
  if (arg !== '' && !/[\s"'\\]/.test(arg)) return arg;
  return JSON.stringify(arg);
}

/** "cleanup.sh --dry-run "two words"" for a script run's params; the id when the name is not known (yet). */
export function scriptRunText(params: Record<string, unknown>, scriptName: string | undefined): string {
  const id = typeof params.scriptId === 'string' ? params.scriptId : '';
  const name = scriptName ?? (id ? `script ${id.slice(0, 8)}` : 'script');
  const args = Array.isArray(params.args) ? params.args : [];
  return args.length ? `${name} ${argsText(args)}` : name;
}
