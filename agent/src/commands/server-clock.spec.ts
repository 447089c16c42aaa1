import { describe, expect, it } from 'vitest';
import { ServerClock } from './server-clock.js';

describe('ServerClock', () => {
  it('is the local clock until a server time is seen', () => {
    const local = new Date('2026-06-01T12:00:00.000Z');
    expect(new ServerClock(() => local).now()).toEqual(local);
  });

  it('follows the server time of the last answer, also for a device clock years off', () => {
    let local = new Date('1970-01-02T00:00:00.000Z'); // RTC reset
    const clock = new ServerClock(() => local);
    clock.observe('2026-06-01T12:00:00.000Z');
    local = new Date(local.getTime() + 90_000);
    expect(clock.now().toISOString()).toBe('2026-06-01T12:01:30.000Z');
    clock.observe('2026-06-01T12:01:00.000Z'); // the newest answer wins
    expect(clock.now().toISOString()).toBe('2026-06-01T12:01:00.000Z');
  });

  it('starts from the acknowledgement kept in state.json, and ignores a server time that is not a time', () => {
    let local = new Date('2026-06-01T12:10:00.000Z');
    const clock = new ServerClock(() => local, { serverTime: '2026-06-01T12:05:00.000Z', at: '2026-06-01T12:00:00.000Z' });
    expect(clock.offset).toBe(5 * 60_000);
    expect(clock.now().toISOString()).toBe('2026-06-01T12:15:00.000Z');
    clock.observe('yesterday');
    local = new Date('2026-06-01T12:10:01.000Z');
    expect(clock.now().toISOString()).toBe('2026-06-01T12:15:01.000Z');
  });
});
