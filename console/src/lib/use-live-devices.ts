'use client';

import { DeviceSchema, type Device } from '@xspectre/contracts';
import { useRef } from 'react';
import { api } from './api-client';
import { applyDevicePatch } from './device-patch';
import { liveDeviceEvents } from './live-events';
import type { Resource } from './use-api';
import { useLive, useLiveSubscription } from './use-live';
import { useCoalesced } from './use-coalesced';

interface DeviceList {
  items: Device[];
}

const RELOAD_DEBOUNCE_MS = 750;
const MEMBERSHIP_FIELDS = ['status', 'connectivity', 'quarantined', 'enrolledAt'] as const;

/**
 * Keeps a page of devices current from the live connection: patches are applied in place; a
 * patch for a device not on the page, or one that may move a device in or out of the current
 * filter, refetches the page (coalesced: useCoalesced); after a reconnect the page is refetched once.
 */
export function useLiveDevices<T extends DeviceList>(resource: Resource<T>, options: { filtered: boolean }): void {
  const ids = resource.data?.items.map((d) => d.id) ?? [];
  useLiveSubscription(ids);
  const latest = useRef(resource);
  latest.current = resource;
  const filtered = useRef(options.filtered);
  filtered.current = options.filtered;

  const scheduleReload = useCoalesced(() => latest.current.reload(), RELOAD_DEBOUNCE_MS);

  function refetchOne(id: string) {
    api(`devices/${id}`, { schema: DeviceSchema }).then(
      (fresh) => latest.current.mutate((page) => page && { ...page, items: page.items.map((d) => (d.id === id ? fresh : d)) }),
      () => scheduleReload(),
    );
  }

  useLive(
    (message) => {
      const events = liveDeviceEvents(message);
      if (events.length > 0) {
        if (events.some(({ event }) => event.type === 'device.created' || event.type === 'device.enrolled')) scheduleReload();
        return;
      }
      if (message.type !== 'devices.changed') return;
      const page = latest.current.data;
      if (!page) return;
      const byId = new Map(page.items.map((d) => [d.id, d]));
      let unknown = false;
      let membership = false;
      const refetch: string[] = [];
      for (const patch of message.devices) {
        const current = byId.get(patch.id);
        if (!current) {
          // Only a change that can bring a device into this page matters (a handshake elsewhere does not).
          if (MEMBERSHIP_FIELDS.some((f) => patch[f] !== undefined)) unknown = true;
          continue;
        }
        const outcome = applyDevicePatch(current, patch);
        byId.set(patch.id, outcome.device);
        if (outcome.needsRefetch) refetch.push(patch.id);
        if (outcome.membershipChanged) membership = true;
      }
      latest.current.mutate((p) => p && { ...p, items: p.items.map((d) => byId.get(d.id) ?? d) });
      for (const id of refetch) refetchOne(id);
      if (unknown || (membership && filtered.current)) scheduleReload();
    },
    () => scheduleReload.resync(),
  );
}
