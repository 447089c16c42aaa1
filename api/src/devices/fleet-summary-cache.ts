import { Injectable } from '@nestjs/common';
import type { DeviceSummary } from '@xspectre/contracts';
import type { SummaryScope } from './fleet-view.repository.js';

/** How long one computed summary answers every operator of its scope. */
export const FLEET_SUMMARY_TTL_MS = 3000;

/**
 * `GET devices/summary`, computed at most once per scope and interval on this instance and
 * shared by every request: concurrent requests wait for the one computation in flight
 * (single-flight). The fleet changes this API makes (create, enroll, revoke, retire) drop every
 * entry, so their effect shows at once; heartbeats and other instances' changes show within the
 * interval.
 */
@Injectable()
export class FleetSummaryCache {
  private readonly entries = new Map<string, { startedAt: number; value: Promise<DeviceSummary> }>();
  /** Computations started, for tests: requests that shared one add nothing. */
  computations = 0;

  get(scope: SummaryScope, compute: () => Promise<DeviceSummary>): Promise<DeviceSummary> {
    const key = `${scope.organizationId ?? ''}|${scope.siteId ?? ''}|${scope.type ?? ''}`;
    const now = Date.now();
    const cached = this.entries.get(key);
    if (cached && now - cached.startedAt < FLEET_SUMMARY_TTL_MS) return cached.value;
    this.dropExpired(now);
    this.computations += 1;
    const entry = { startedAt: now, value: compute() };
    this.entries.set(key, entry);
    // A failed computation is not shared beyond the requests already waiting for it.
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.value;
  }

  /** The fleet changed: the next request computes anew (a computation in flight is no longer cached). */
  invalidate(): void {
    this.entries.clear();
  }

  private dropExpired(now: number): void {
    for (const [key, entry] of this.entries) if (now - entry.startedAt >= FLEET_SUMMARY_TTL_MS) this.entries.delete(key);
  }
}
