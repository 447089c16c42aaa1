import { Injectable } from '@nestjs/common';
import type {
  DeviceEvent,
  DeviceEventType,
  DeviceLiveEvent,
  DeviceLivePatch,
  EventSeverity,
  LiveDeviceEventItem,
} from '@xspectre/contracts';
import { LivePublisher } from '../live/live-publisher.js';
import { DeviceEventsRepository } from './device-events.repository.js';

/** A device event as stored: what `record` and `append` give back. */
export interface RecordedDeviceEvent {
  id: string;
  deviceId: string;
  type: DeviceEventType;
  severity: EventSeverity;
  at: Date;
  details: DeviceEvent['details'];
}

export type NewDeviceEvent = Omit<RecordedDeviceEvent, 'id'>;
type FleetPatch = Omit<DeviceLivePatch, 'id'>;

export function toDeviceEventDto(e: RecordedDeviceEvent): DeviceEvent {
  return { id: e.id, deviceId: e.deviceId, type: e.type, severity: e.severity, at: e.at.toISOString(), details: e.details };
}

/**
 * The one place device events are written and announced. An event row commits with what caused
 * it (the caller's transaction); consoles hear of it only once that transaction committed.
 */
@Injectable()
export class DeviceEventsService {
  constructor(
    private readonly events: DeviceEventsRepository,
    private readonly live: LivePublisher,
  ) {}

  /**
   * On a request path: appends the event and announces it with the device's changed fields
   * (`patch`) once the request's transaction commits.
   */
  async record(event: NewDeviceEvent, patch: FleetPatch = {}): Promise<RecordedDeviceEvent> {
    const stored = await this.events.append(event);
    this.live.announceAfterCommit({ ...patchOf(stored), ...patch, id: stored.deviceId }, liveEventOf(stored));
    return stored;
  }

  /**
   * In a transaction that is not a request's (the heartbeat group commit): appends only; the
   * writer passes what it got back to `announceCommitted` once its transaction committed.
   */
  append(event: NewDeviceEvent): Promise<RecordedDeviceEvent> {
    return this.events.append(event);
  }

  /**
   * Announces events whose transaction has committed, with what the committing caller learned
   * besides them (`alongside`: the heartbeat group's devices that came online): one `devices.changed`
   * and one `device.events` (each chunked at LIVE_MAX_PATCHES_PER_MESSAGE) for the whole commit, the
   * patches first so a console that refetches on the event reads the new state.
   */
  async announceCommitted(
    events: RecordedDeviceEvent[],
    alongside: { fleet?: DeviceLivePatch[]; events?: LiveDeviceEventItem[] } = {},
  ): Promise<void> {
    const patches = [...(alongside.fleet ?? []), ...events.filter(changesFleetView).map((e) => ({ ...patchOf(e), id: e.deviceId }))];
    const live = [...(alongside.events ?? []), ...events.map((e) => ({ deviceId: e.deviceId, event: liveEventOf(e) }))];
    if (patches.length > 0) await this.live.devicesChanged(patches, 'fleet');
    if (live.length > 0) await this.live.deviceEvents(live);
  }

  /** Newest first. The caller checks that the device exists. */
  async list(deviceId: string, filter: { type?: DeviceEventType; limit: number; offset: number }) {
    const { items, total } = await this.events.list(deviceId, filter);
    return { items: items.map(toDeviceEventDto), total, limit: filter.limit, offset: filter.offset };
  }
}

/** What an event changes in the fleet view by itself. */
function patchOf(e: RecordedDeviceEvent): FleetPatch {
  return e.type === 'fingerprint.changed' ? { quarantined: true } : {};
}

const changesFleetView = (e: RecordedDeviceEvent) => Object.keys(patchOf(e)).length > 0;

function liveEventOf(e: RecordedDeviceEvent): DeviceLiveEvent {
  return { type: e.type, severity: e.severity, at: e.at.toISOString(), details: e.details };
}
