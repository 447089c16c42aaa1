import { createHash } from 'node:crypto';

/** A latest-state document this API instance wrote: its hash and the heartbeat sequence it came with. */
export interface WrittenDocument {
  hash: string;
  sequence: number;
}

export type DocumentKind = 'services' | 'docker';

/** Bound on remembered devices: a large fleet fits; the oldest entries go first. */
const MAX_DEVICES = 100_000;

export const documentHash = (json: string) => createHash('sha256').update(json).digest('base64');

/**
 * Per device, the services and docker documents this instance last wrote (hash and sequence).
 * A heartbeat carrying the same document then sends only that sequence, a claim the database
 * checks against the sequence stored beside the document (`services_sequence`,
 * `docker_sequence`): a stale entry (another instance wrote since, a restored database) can
 * never keep an older document, it only costs a rewrite. Forgetting is always safe.
 */
export class TelemetryDocumentCache {
  private readonly devices = new Map<string, Partial<Record<DocumentKind, WrittenDocument>>>();

  constructor(private readonly maxDevices = MAX_DEVICES) {}

  get(deviceId: string, kind: DocumentKind): WrittenDocument | undefined {
    return this.devices.get(deviceId)?.[kind];
  }

  remember(deviceId: string, kind: DocumentKind, written: WrittenDocument): void {
    const entry = this.devices.get(deviceId);
    if (entry) {
      entry[kind] = written;
      return;
    }
    if (this.devices.size >= this.maxDevices) this.devices.delete(this.devices.keys().next().value!);
    this.devices.set(deviceId, { [kind]: written });
  }

  forget(deviceId: string): void {
    this.devices.delete(deviceId);
  }
}
