import { Injectable } from '@nestjs/common';
import { SCANNER_STATS_STALE_SECONDS } from '@xspectre/contracts';
import { fleetNewest, versionsBehind, type ScannerHealthInput, type TaskHistory } from './scanner-checks.js';
import { ScannerHealthRepository } from './scanner-health.repository.js';
import type { VersionBehind } from './scanner-snapshot.entity.js';

const WEEK_MS = 7 * 86_400_000;

/** One scanner's inputs to the checks, without whether the device is online (the engine knows). */
export type ScannerHealth = Omit<ScannerHealthInput, 'online'>;

/**
 * What the alert engine's scanner step reads: every active scanner's latest report with its
 * history, in a few queries for the whole fleet. Version drift needs the fleet (the newest image
 * tag per core service among fresh reports), so each scanner's services-behind are kept here,
 * once per evaluation, for the reports that are fresh (a stale one keeps what it had).
 */
@Injectable()
export class ScannerHealthService {
  constructor(private readonly repo: ScannerHealthRepository) {}

  async load(now: Date): Promise<Map<string, ScannerHealth>> {
    const snapshots = await this.repo.snapshots();
    if (snapshots.length === 0) return new Map();
    // One after the other: inside the evaluation's transaction they share one connection.
    const tasks = await this.repo.taskStates();
    const finished = await this.repo.lastFinished();
    const samples = await this.repo.dockerSamples(new Date(now.getTime() - WEEK_MS));
    const tasksOf = new Map<string, Map<string, TaskHistory>>();
    for (const t of tasks) {
      let of = tasksOf.get(t.deviceId);
      if (!of) tasksOf.set(t.deviceId, (of = new Map()));
      of.set(t.taskId, t);
    }
    const samplesOf = new Map<string, ScannerHealth['dockerSamples'][number][]>();
    for (const s of samples) {
      const of = samplesOf.get(s.deviceId);
      if (of) of.push(s);
      else samplesOf.set(s.deviceId, [s]);
    }

    const freshAfter = now.getTime() - SCANNER_STATS_STALE_SECONDS * 1000;
    const fresh = snapshots.filter((s) => new Date(s.collectedAt).getTime() >= freshAfter);
    const newest = fleetNewest(fresh.map((s) => s.stats));
    const changes: Array<{ deviceId: string; behind: Record<string, VersionBehind> }> = [];
    const behindOf = new Map<string, Record<string, VersionBehind>>();
    for (const s of fresh) {
      const behind = versionsBehind(s.stats, newest, s.versionsBehind, now);
      behindOf.set(s.deviceId, behind);
      if (JSON.stringify(behind) !== JSON.stringify(s.versionsBehind)) changes.push({ deviceId: s.deviceId, behind });
    }
    await this.repo.saveVersionsBehind(changes);

    return new Map(
      snapshots.map((s) => [
        s.deviceId,
        {
          collectedAt: new Date(s.collectedAt),
          stats: s.stats,
          gmpUnreachablePolls: s.gmpUnreachablePolls,
          gmpUnreachableSince: s.gmpUnreachableSince ? new Date(s.gmpUnreachableSince) : null,
          firstCollectedAt: new Date(s.firstCollectedAt),
          syncingSince: s.syncingSince,
          tasks: tasksOf.get(s.deviceId) ?? new Map(),
          lastFinishedAt: finished.get(s.deviceId) ?? null,
          dockerSamples: samplesOf.get(s.deviceId) ?? [],
          versionsBehind: behindOf.get(s.deviceId) ?? s.versionsBehind,
        },
      ]),
    );
  }
}
