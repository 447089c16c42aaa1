'use client';

import { DeviceSchema, ScriptPageSchema, ScriptSchema } from '@xspectre/contracts';
import { useEffect, useState } from 'react';
import { api } from './api-client';

/**
 * Names for ids a list shows but does not carry (a command names its device and its script by
 * id). One cache per kind for the whole tab: each id is asked for once, an id the API does not
 * answer for is not asked again (the list shows the id instead), and every view that needs names
 * re-renders when new ones arrive.
 */
interface NameCache {
  names: Map<string, string>;
  asked: Set<string>;
  listeners: Set<() => void>;
}

const caches = new Map<string, NameCache>();

function cacheOf(kind: string): NameCache {
  let cache = caches.get(kind);
  if (!cache) {
    cache = { names: new Map(), asked: new Set(), listeners: new Set() };
    caches.set(kind, cache);
  }
  return cache;
}

function notify(cache: NameCache): void {
  for (const listener of cache.listeners) listener();
}

/** Records a name the caller just learnt (a script saved, a device renamed), so lists show it at once. */
export function rememberName(kind: NameKind, id: string, name: string): void {
  const cache = cacheOf(kind);
  cache.names.set(id, name);
  cache.asked.add(id);
  notify(cache);
}

export type NameKind = 'scripts' | 'devices';

/** How many single reads run at once (a page of commands may name dozens of devices). */
const CONCURRENCY = 6;

async function eachLimited<T>(items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}

const LOADERS: Record<NameKind, (missing: string[], found: (id: string, name: string) => void) => Promise<void>> = {
  // The library is small: one list read (archived ones too: old commands name them) answers
  // nearly always; a script beyond the first 500 is read alone.
  scripts: async (missing, found) => {
    const page = await api('scripts', { query: { limit: 500 }, schema: ScriptPageSchema });
    for (const script of page.items) found(script.id, script.name);
    const known = new Set(page.items.map((s) => s.id));
    await eachLimited(
      missing.filter((id) => !known.has(id)),
      async (id) => {
        const script = await api(`scripts/${id}`, { schema: ScriptSchema }).catch(() => null);
        if (script) found(id, script.name);
      },
    );
  },
  devices: async (missing, found) => {
    await eachLimited(missing, async (id) => {
      const device = await api(`devices/${id}`, { schema: DeviceSchema }).catch(() => null);
      if (device) found(id, device.name);
    });
  },
};

/** The names known for `ids` (id → name); ids not known yet are fetched, and the view re-renders when they arrive. */
export function useNames(kind: NameKind, ids: readonly string[]): ReadonlyMap<string, string> {
  const cache = cacheOf(kind);
  const [, setVersion] = useState(0);
  useEffect(() => {
    const listener = () => setVersion((v) => v + 1);
    cache.listeners.add(listener);
    return () => void cache.listeners.delete(listener);
  }, [cache]);

  const missingKey = [...new Set(ids)]
    .filter((id) => !cache.asked.has(id))
    .sort()
    .join(',');
  useEffect(() => {
    if (!missingKey) return;
    const missing = missingKey.split(',').filter((id) => !cache.asked.has(id));
    if (missing.length === 0) return;
    for (const id of missing) cache.asked.add(id);
    const found = (id: string, name: string) => {
      cache.names.set(id, name);
      cache.asked.add(id);
    };
    // A failed read (the network, a permission) is not retried in a loop: the view shows the id,
    // and a reload of the page asks again.
    LOADERS[kind](missing, found)
      .catch(() => undefined)
      .finally(() => notify(cache));
  }, [kind, missingKey, cache]);
  return cache.names;
}
