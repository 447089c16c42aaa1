import { requestContext } from '../context/request-context.js';

/**
 * Answers per-key lookups made in the same turn of the event loop with one call of `load` for
 * all their keys: the heartbeat group commit answers many agents at once, and each answer needs
 * a small per-device read, so they share one statement instead of one round trip each. `load`
 * runs outside any request transaction, on the pool lane of the first caller of the turn.
 */
export class TickBatcher<K, V> {
  private pending = new Map<K, Array<{ resolve: (value: V) => void; reject: (error: unknown) => void }>>();
  private scheduled = false;

  constructor(
    private readonly load: (keys: K[]) => Promise<Map<K, V>>,
    private readonly missing: V,
  ) {}

  get(key: K): Promise<V> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      if (this.scheduled) return;
      this.scheduled = true;
      const lane = requestContext.get()?.dbLane;
      setImmediate(() =>
        requestContext.run({ requestId: 'batched-read', sourceIp: null, audit: {}, dbLane: lane }, () => void this.flush()),
      );
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    try {
      const values = await this.load([...batch.keys()]);
      for (const [key, waiters] of batch) for (const w of waiters) w.resolve(values.get(key) ?? this.missing);
    } catch (error) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(error);
    }
  }
}
