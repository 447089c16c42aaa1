import { z } from 'zod';
import { IsoDateTimeSchema, NameSchema, PageQuerySchema, pageOf } from './common.js';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './storable-text.js';

/**
 * The script library: scripts a Super Admin writes and operators run on devices as root
 * (`script.run`, a critical command). A command carries the SHA-256 of the exact content it
 * runs in its signed params; the agent refuses content whose hash differs.
 */

/** The interpreters a script can name. The agent maps each to an absolute path, never through PATH or `/usr/bin/env`. */
export const SCRIPT_INTERPRETERS = ['bash', 'sh', 'python3'] as const;
export const ScriptInterpreterSchema = z.enum(SCRIPT_INTERPRETERS);
export type ScriptInterpreter = z.infer<typeof ScriptInterpreterSchema>;
export const SCRIPT_INTERPRETER_PATHS: Readonly<Record<ScriptInterpreter, string>> = {
  bash: '/bin/bash',
  sh: '/bin/sh',
  python3: '/usr/bin/python3',
};

/** UTF-8 bytes of a script's content. */
export const SCRIPT_CONTENT_MAX_BYTES = 256 * 1024;
export const SCRIPT_TIMEOUT_MIN_SECONDS = 1;
export const SCRIPT_TIMEOUT_MAX_SECONDS = 3600;
export const SCRIPT_TIMEOUT_DEFAULT_SECONDS = 600;
export const SCRIPT_DESCRIPTION_MAX_CHARS = 2000;
export const SCRIPT_ARGS_MAX = 32;
export const SCRIPT_ARG_MAX_CHARS = 1024;
/**
 * All arguments together, as JSON (what the signed params carry): keeps a script run's params
 * well inside COMMAND_PARAMS_MAX_BYTES (command-envelope.ts) even when every character of every
 * argument needs an escape.
 */
export const SCRIPT_ARGS_MAX_JSON_BYTES = 32 * 1024;

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** Lower-case hex SHA-256 of the content's UTF-8 bytes. */
export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (SHA-256)');

export const ScriptContentSchema = z
  .string()
  .min(1, 'must not be empty')
  .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE)
  .refine((text) => utf8Bytes(text) <= SCRIPT_CONTENT_MAX_BYTES, `must be at most ${SCRIPT_CONTENT_MAX_BYTES} bytes (UTF-8)`);

export const ScriptTimeoutSecondsSchema = z.number().int().min(SCRIPT_TIMEOUT_MIN_SECONDS).max(SCRIPT_TIMEOUT_MAX_SECONDS);

const DescriptionSchema = z
  .string()
  .trim()
  .max(SCRIPT_DESCRIPTION_MAX_CHARS, `must be at most ${SCRIPT_DESCRIPTION_MAX_CHARS} characters`)
  .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

/** One argument: handed to the script as one argv entry, never through a shell. */
export const ScriptArgSchema = z
  .string()
  .max(SCRIPT_ARG_MAX_CHARS, `must be at most ${SCRIPT_ARG_MAX_CHARS} characters`)
  .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
export const ScriptArgsSchema = z
  .array(ScriptArgSchema)
  .max(SCRIPT_ARGS_MAX, `at most ${SCRIPT_ARGS_MAX} arguments`)
  .refine((args) => utf8Bytes(JSON.stringify(args)) <= SCRIPT_ARGS_MAX_JSON_BYTES, {
    message: `the arguments together must be at most ${SCRIPT_ARGS_MAX_JSON_BYTES} bytes as JSON`,
  });

/** `POST scripts` and `PUT scripts/:id` (the whole script; a changed content gets a new SHA-256). */
export const CreateScriptSchema = z
  .object({
    name: NameSchema,
    description: DescriptionSchema.default(''),
    interpreter: ScriptInterpreterSchema,
    content: ScriptContentSchema,
    timeoutSeconds: ScriptTimeoutSecondsSchema.default(SCRIPT_TIMEOUT_DEFAULT_SECONDS),
  })
  .strict();
export type CreateScript = z.infer<typeof CreateScriptSchema>;
export const UpdateScriptSchema = CreateScriptSchema;
export type UpdateScript = CreateScript;

/** A script as listed: everything but the content. */
export const ScriptSummarySchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  interpreter: ScriptInterpreterSchema,
  sha256: Sha256HexSchema.describe('SHA-256 of the current content (UTF-8 bytes)'),
  sizeBytes: z.number().int(),
  timeoutSeconds: z.number().int(),
  archived: z.boolean().describe('archived scripts cannot be run; a deleted script that commands ran is archived'),
  createdBy: z.string(),
  createdAt: IsoDateTimeSchema,
  updatedBy: z.string(),
  updatedAt: IsoDateTimeSchema,
});
export type ScriptSummary = z.infer<typeof ScriptSummarySchema>;
export const ScriptSchema = ScriptSummarySchema.extend({ content: z.string() });
export type Script = z.infer<typeof ScriptSchema>;
export const ScriptPageSchema = pageOf(ScriptSummarySchema);

export const ListScriptsQuerySchema = PageQuerySchema.extend({
  archived: z.enum(['true', 'false']).optional().describe('only archived scripts (true) or only runnable ones (false); absent: both'),
}).strict();

/** `DELETE scripts/:id`: removed, or archived because commands ran it (their history keeps it). */
export const DeleteScriptResultSchema = z.object({ id: z.uuid(), outcome: z.enum(['deleted', 'archived']) });

/** What an operator sends to run a script: the API adds its hash, interpreter and timeout from the library. */
export const ScriptRunRequestParamsSchema = z
  .object({
    scriptId: z.uuid(),
    args: ScriptArgsSchema.default([]),
  })
  .strict();

/** What the device gets, signed: exactly the content (by hash), how to run it, and for how long at most. */
export const ScriptRunParamsSchema = z
  .object({
    scriptId: z.uuid(),
    sha256: Sha256HexSchema,
    interpreter: ScriptInterpreterSchema,
    timeoutSeconds: ScriptTimeoutSecondsSchema,
    args: ScriptArgsSchema,
  })
  .strict();
export type ScriptRunParams = z.infer<typeof ScriptRunParamsSchema>;

/**
 * `GET agent/commands/:id/script`: the content of that command's script version, base64 of its
 * UTF-8 bytes (exact bytes, and no JSON escaping that could grow it past the agent's answer limit).
 */
export const AgentScriptResponseSchema = z.object({
  commandId: z.uuid(),
  sha256: Sha256HexSchema,
  contentBase64: z.string().max(Math.ceil(SCRIPT_CONTENT_MAX_BYTES / 3) * 4),
});
export type AgentScriptResponse = z.infer<typeof AgentScriptResponseSchema>;
