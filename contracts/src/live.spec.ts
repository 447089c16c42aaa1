import { describe, expect, it } from 'vitest';
import { LIVE_MAX_PATCHES_PER_MESSAGE, LiveDeviceEventsMessageSchema, LiveServerMessageSchema } from './live.js';

const deviceId = '00000000-0000-4000-8000-00000000000a';
const online = { type: 'connectivity.online', severity: 'info', at: '2026-01-01T00:00:00.000Z' } as const;
const item = (i: number) => ({ deviceId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, event: online });

describe('live device events', () => {
  it('carries the events of many devices in one device.events message', () => {
    const message = { type: 'device.events', events: [item(1), item(2), { deviceId, event: { ...online, details: { reason: 'x' } } }] };
    expect(LiveServerMessageSchema.parse(message)).toEqual(message);
  });

  it(`takes 1 to LIVE_MAX_PATCHES_PER_MESSAGE (${LIVE_MAX_PATCHES_PER_MESSAGE}) events`, () => {
    const events = (n: number) => ({ type: 'device.events', events: Array.from({ length: n }, (_, i) => item(i)) });
    expect(LiveDeviceEventsMessageSchema.safeParse(events(0)).success).toBe(false);
    expect(LiveDeviceEventsMessageSchema.safeParse(events(1)).success).toBe(true);
    expect(LiveDeviceEventsMessageSchema.safeParse(events(LIVE_MAX_PATCHES_PER_MESSAGE)).success).toBe(true);
    expect(LiveDeviceEventsMessageSchema.safeParse(events(LIVE_MAX_PATCHES_PER_MESSAGE + 1)).success).toBe(false);
  });

  it('refuses an event the single-event message would refuse, and unknown fields', () => {
    const bad = (events: unknown[], extra = {}) => LiveServerMessageSchema.safeParse({ type: 'device.events', events, ...extra }).success;
    expect(bad([{ deviceId: 'not-a-uuid', event: online }])).toBe(false);
    expect(bad([{ deviceId, event: { ...online, type: 'Bad Type' } }])).toBe(false);
    expect(bad([{ deviceId, event: { ...online, severity: 'fatal' } }])).toBe(false);
    expect(bad([{ deviceId, event: online, extra: 1 }])).toBe(false);
    expect(bad([{ deviceId, event: online }], { deviceId })).toBe(false);
  });

  it('keeps the single-device device.event message', () => {
    const message = { type: 'device.event', deviceId, event: { ...online, type: 'device.enrolled' } };
    expect(LiveServerMessageSchema.parse(message)).toEqual(message);
  });
});
