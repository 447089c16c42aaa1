import { describe, expect, it } from 'vitest';
import { parseClientMessage } from './live-client-message.js';

const id = '00000000-0000-4000-8000-00000000000a';

describe('parseClientMessage', () => {
  it('reads subscribe and ping', () => {
    expect(parseClientMessage(JSON.stringify({ type: 'subscribe', deviceIds: [id] }))).toEqual({
      ok: true,
      message: { type: 'subscribe', deviceIds: [id] },
    });
    expect(parseClientMessage('{"type":"ping"}')).toEqual({ ok: true, message: { type: 'ping' } });
  });

  it.each([
    ['', 'MALFORMED_JSON'],
    ['{"type":', 'MALFORMED_JSON'],
    ['null', 'VALIDATION_FAILED'],
    ['"ping"', 'VALIDATION_FAILED'],
    ['[{"type":"ping"}]', 'VALIDATION_FAILED'],
    ['{}', 'LIVE_MESSAGE_UNSUPPORTED'],
    ['{"type":7}', 'LIVE_MESSAGE_UNSUPPORTED'],
    ['{"type":"hello"}', 'LIVE_MESSAGE_UNSUPPORTED'],
    ['{"type":"__proto__"}', 'LIVE_MESSAGE_UNSUPPORTED'],
    ['{"type":"subscribe"}', 'VALIDATION_FAILED'],
    ['{"type":"subscribe","deviceIds":"all"}', 'VALIDATION_FAILED'],
    ['{"type":"subscribe","deviceIds":["x"]}', 'VALIDATION_FAILED'],
    ['{"type":"ping","extra":true}', 'VALIDATION_FAILED'],
  ])('refuses %j with %s', (text, code) => {
    const parsed = parseClientMessage(text);
    expect(parsed).toMatchObject({ ok: false, code });
    if (!parsed.ok) expect(parsed.message.length).toBeGreaterThan(5);
  });

  it('caps a subscription at 500 devices, naming the field', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    expect(parseClientMessage(JSON.stringify({ type: 'subscribe', deviceIds: ids(500) })).ok).toBe(true);
    const refused = parseClientMessage(JSON.stringify({ type: 'subscribe', deviceIds: ids(501) }));
    expect(refused).toMatchObject({ ok: false, code: 'VALIDATION_FAILED' });
    if (!refused.ok) expect(refused.message).toMatch(/^subscribe: deviceIds: /);
  });

  it('does not echo an unbounded type name', () => {
    const parsed = parseClientMessage(JSON.stringify({ type: 'x'.repeat(10_000) }));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message.length).toBeLessThan(200);
  });
});
