import { describe, expect, it } from 'vitest';
import { messageFor, type LiveEnvelope } from './live-channel.js';

const [x, y, z] = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000c'];

describe('messageFor', () => {
  const telemetry: LiveEnvelope = {
    scope: 'telemetry',
    message: {
      type: 'devices.changed',
      devices: [
        { id: x, lastSequence: 1 },
        { id: y, lastSequence: 2 },
      ],
    },
  };

  it('sends fleet messages to everyone, unchanged', () => {
    const fleet: LiveEnvelope = { scope: 'fleet', message: { type: 'devices.changed', devices: [{ id: x, status: 'revoked' }] } };
    expect(messageFor(fleet, new Set())).toBe(fleet.message);
    expect(messageFor(fleet, new Set([y]))).toBe(fleet.message);
  });

  it('sends telemetry patches only for subscribed devices', () => {
    expect(messageFor(telemetry, new Set())).toBeNull();
    expect(messageFor(telemetry, new Set([z]))).toBeNull();
    expect(messageFor(telemetry, new Set([y, z]))).toEqual({ type: 'devices.changed', devices: [{ id: y, lastSequence: 2 }] });
    // All of them: the same object, so fan-out can serialize it once.
    expect(messageFor(telemetry, new Set([x, y]))).toBe(telemetry.message);
  });

  it('sends a telemetry-scoped event only to subscribers of its device', () => {
    const event: LiveEnvelope = {
      scope: 'telemetry',
      message: { type: 'device.event', deviceId: x, event: { type: 'service.failed', severity: 'warning', at: '2026-01-01T00:00:00Z' } },
    };
    expect(messageFor(event, new Set([y]))).toBeNull();
    expect(messageFor(event, new Set([x]))).toBe(event.message);
  });

  it("sends a backup's progress only to connections following its device", () => {
    const progress: LiveEnvelope = {
      scope: 'telemetry',
      message: {
        type: 'backup.progress',
        deviceId: x,
        runId: y,
        at: '2026-01-01T00:00:00Z',
        progress: {
          phase: 'backup',
          percentDone: 0.5,
          filesDone: 1,
          totalFiles: 2,
          bytesDone: 10,
          totalBytes: 20,
          secondsElapsed: 3,
          secondsRemaining: null,
        },
      },
    };
    expect(messageFor(progress, new Set())).toBeNull();
    expect(messageFor(progress, new Set([y]))).toBeNull();
    expect(messageFor(progress, new Set([x]))).toBe(progress.message);
  });

  it('sends a fleet device.events message to everyone; a telemetry-scoped one only with the subscribed devices', () => {
    const at = '2026-01-01T00:00:00Z';
    const events = [x, y].map((deviceId) => ({ deviceId, event: { type: 'connectivity.online', severity: 'info' as const, at } }));
    const fleet: LiveEnvelope = { scope: 'fleet', message: { type: 'device.events', events } };
    expect(messageFor(fleet, new Set())).toBe(fleet.message);
    const scoped: LiveEnvelope = { scope: 'telemetry', message: { type: 'device.events', events } };
    expect(messageFor(scoped, new Set([z]))).toBeNull();
    expect(messageFor(scoped, new Set([y, z]))).toEqual({ type: 'device.events', events: [events[1]] });
    expect(messageFor(scoped, new Set([x, y]))).toBe(scoped.message);
  });
});
