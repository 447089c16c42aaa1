import { LIVE_CLIENT_MESSAGE_TYPES, LiveClientMessageSchema, type LiveClientMessage } from '@xspectre/contracts';
import type { ErrorCode } from '../common/errors/error-catalog.js';

export type ParsedClientMessage = { ok: true; message: LiveClientMessage } | { ok: false; code: ErrorCode; message: string };

const KNOWN_TYPES: ReadonlySet<string> = new Set(LIVE_CLIENT_MESSAGE_TYPES);

/** Reads one text frame from a console. Bad input is an answer (`error`), never an exception. */
export function parseClientMessage(text: string): ParsedClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, code: 'MALFORMED_JSON', message: 'each message must be one JSON object' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, code: 'VALIDATION_FAILED', message: 'each message must be a JSON object with a "type"' };
  }
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
    const shown = typeof type === 'string' ? `"${type.slice(0, 40)}"` : 'missing';
    return {
      ok: false,
      code: 'LIVE_MESSAGE_UNSUPPORTED',
      message: `message type ${shown}; supported: ${LIVE_CLIENT_MESSAGE_TYPES.join(', ')}`,
    };
  }
  const parsed = LiveClientMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`);
    return { ok: false, code: 'VALIDATION_FAILED', message: `${type}: ${issues.join('; ')}`.slice(0, 500) };
  }
  return { ok: true, message: parsed.data };
}
