import { describe, expect, it } from 'vitest';
import { liveDeviceEvents } from './live-events';

const [x, y] = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b'];
const event = { type: 'connectivity.online', severity: 'info', at: '2026-01-01T00:00:00.000Z' } as const;

describe('liveDeviceEvents', () => {
  it('yields the events of device.event and device.events alike, and none of other messages', () => {
    expect(liveDeviceEvents({ type: 'device.event', deviceId: x, event })).toEqual([{ deviceId: x, event }]);
    const events = [
      { deviceId: x, event },
      { deviceId: y, event },
    ];
    expect(liveDeviceEvents({ type: 'device.events', events })).toEqual(events);
    expect(liveDeviceEvents({ type: 'devices.changed', devices: [{ id: x, connectivity: 'online' }] })).toEqual([]);
    expect(liveDeviceEvents({ type: 'pong', serverTime: event.at })).toEqual([]);
  });
});
