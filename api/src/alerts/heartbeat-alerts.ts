import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Heartbeat } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AlertConditionsRepository, type ConditionKey, type ConditionRow } from './alert-conditions.repository.js';
import { AlertRuleBook } from './alert-rule-book.service.js';
import { isHeartbeatRule, readConditions, type RestartHistory } from './heartbeat-conditions.js';
import type { DeviceScope } from './rule-book.js';

/** What ingest hands over after a group of heartbeats committed. */
export interface CommittedHeartbeats {
  receivedAt: Date;
  /** The newest stored heartbeat per device. */
  newest: Map<string, Heartbeat>;
  /** Devices whose latest state this group replaced (an older, replayed heartbeat does not). */
  becameLatest: Set<string>;
}

/** How long a device's known conditions and scope are trusted before being re-read (another instance may have changed them). */
export const KNOWN_STATE_TTL_MS = 60_000;
/** At most this many groups wait to be judged; beyond, the oldest are dropped (the next heartbeat judges again). */
const MAX_QUEUED = 64;

interface KnownDevice {
  loadedAt: number;
  scope: DeviceScope;
  /** ruleId + NUL + subject of each breaching condition. */
  breaching: Set<string>;
  restarts: RestartHistory;
}

const keyOf = (ruleId: string, subject: string) => `${ruleId}\u0000${subject}`;

/**
 * The per-heartbeat part of the alert engine: compares each device's newest heartbeat with the
 * rules in memory and writes only transitions (a condition starts or clears) to
 * alert_conditions. Runs after ingest's commit, off the request path; the evaluation job turns
 * conditions held long enough into alerts.
 */
@Injectable()
export class HeartbeatAlerts {
  private readonly logger = new Logger(HeartbeatAlerts.name);
  private readonly known = new Map<string, KnownDevice>();
  private queue: CommittedHeartbeats[] = [];
  private running: Promise<void> | null = null;
  private dropped = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly rules: AlertRuleBook,
    private readonly conditions: AlertConditionsRepository,
  ) {}

  /** A heartbeat older than this when it arrives is a replayed backlog: it opens and resolves nothing. */
  get maxAgeMs(): number {
    return Math.max(4 * this.config.API_AGENT_HEARTBEAT_SECONDS * 1000, 120_000);
  }

  /** Never throws, never waits for the database: ingest calls it after its commit. */
  observe(batch: CommittedHeartbeats): void {
    if (batch.becameLatest.size === 0) return;
    this.queue.push(batch);
    if (this.queue.length > MAX_QUEUED) {
      this.dropped += this.queue.length - MAX_QUEUED;
      this.queue = this.queue.slice(-MAX_QUEUED);
    }
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  /** Resolves once everything observed so far is judged (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Forgets what this instance knows (tests that change conditions behind its back). */
  forget(): void {
    this.known.clear();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.shift()!;
      try {
        await this.judge(batch);
      } catch (error) {
        // Forget what may now be wrong; the next heartbeat of these devices re-reads and judges again.
        for (const id of batch.newest.keys()) this.known.delete(id);
        this.logger.warn({ msg: 'heartbeat alert evaluation failed', err: error instanceof Error ? error.message : String(error) });
      }
    }
    if (this.dropped > 0) {
      this.logger.warn({ msg: 'heartbeat alert evaluation fell behind: groups skipped', skipped: this.dropped });
      this.dropped = 0;
    }
  }

  private async judge(batch: CommittedHeartbeats): Promise<void> {
    const now = batch.receivedAt.getTime();
    const fresh = [...batch.newest].filter(([id, h]) => batch.becameLatest.has(id) && now - Date.parse(h.sentAt) <= this.maxAgeMs);
    if (fresh.length === 0) return;
    await this.load(
      fresh.map(([id]) => id),
      now,
    );
    const book = await this.rules.current();
    const inserts: ConditionRow[] = [];
    const deletes: ConditionKey[] = [];
    const applied: Array<() => void> = [];
    for (const [deviceId, h] of fresh) {
      const device = this.known.get(deviceId);
      if (!device) continue; // not active any more
      const rules = book.effectiveFor(device.scope).filter(isHeartbeatRule);
      // Most devices breach nothing: then only a breach can change anything, and neither the other
      // ~90 readings nor their keys are built (building and hashing them was the engine's largest
      // cost in the ingest benchmark's profile, api/bench/ingest.mjs; readConditions says what
      // they cost the garbage collector).
      const wasBreaching = device.breaching.size > 0;
      const readings = readConditions(rules, h, device.restarts, now, !wasBreaching);
      // The breaching keys this heartbeat mentions.
      const seen = new Set<string>();
      for (const r of readings) {
        const key = keyOf(r.ruleId, r.subject);
        const breaching = device.breaching.has(key);
        if (breaching) seen.add(key);
        if (r.state === 'breach' && !breaching) {
          inserts.push({ ruleId: r.ruleId, deviceId, subject: r.subject, since: batch.receivedAt, details: r.details });
          applied.push(() => device.breaching.add(key));
        } else if (r.state === 'clear' && breaching) {
          deletes.push({ ruleId: r.ruleId, deviceId, subject: r.subject });
          applied.push(() => device.breaching.delete(key));
        }
      }
      if (!wasBreaching) continue;
      // A breaching subject this heartbeat no longer mentions (a mount gone, a failed unit reset,
      // a container removed) has cleared, if the heartbeat carries that part of the telemetry.
      const ruleIds = new Map(rules.map((r) => [r.id, r]));
      for (const key of device.breaching) {
        if (seen.has(key)) continue;
        const [ruleId, subject] = key.split('\u0000') as [string, string];
        const rule = ruleIds.get(ruleId);
        // Not a heartbeat rule of this device any more (disabled, overridden): the evaluation job cleans up.
        if (!rule) continue;
        const carried = rule.kind === 'metric' ? !!h.metrics : rule.kind === 'unit' ? !!h.services : h.docker?.status === 'ok';
        if (carried) {
          deletes.push({ ruleId, deviceId, subject });
          applied.push(() => device.breaching.delete(key));
        }
      }
    }
    await this.conditions.insertMany(inserts);
    await this.conditions.deleteMany(deletes);
    for (const apply of applied) apply();
  }

  /** Reads conditions and scope of devices this instance does not know (or knew too long ago). */
  private async load(deviceIds: string[], now: number): Promise<void> {
    const stale = deviceIds.filter((id) => {
      const known = this.known.get(id);
      return !known || now - known.loadedAt > KNOWN_STATE_TTL_MS;
    });
    if (stale.length === 0) return;
    const [scopes, rows] = await Promise.all([this.conditions.deviceScopes(stale), this.conditions.forDevices(stale)]);
    for (const id of stale) {
      const previous = this.known.get(id);
      this.known.delete(id);
      const scope = scopes.find((s) => s.id === id);
      if (scope) this.known.set(id, { loadedAt: now, scope, breaching: new Set(), restarts: previous?.restarts ?? new Map() });
    }
    for (const row of rows) this.known.get(row.deviceId)?.breaching.add(keyOf(row.ruleId, row.subject));
  }
}
