import type { DiskHealthReport, DockerReport, InventoryReport, ScannerStats, ServiceState, SystemMetrics } from '@xspectre/contracts';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { DueScannerStats } from '../scanner/integrator.js';
import type { DueInventory } from './inventory.js';
import type { DueDiskHealth } from './smart.js';

/** What a heartbeat carries besides its header. */
export interface Telemetry {
  metrics?: SystemMetrics;
  services?: ServiceState[];
  docker?: DockerReport;
  inventory?: InventoryReport;
  scannerStats?: ScannerStats;
  diskHealth?: DiskHealthReport;
}

export interface CollectedTelemetry {
  telemetry: Telemetry;
  /** Call once the heartbeat carrying `telemetry` was acknowledged. */
  acknowledged: () => Promise<void>;
}

export interface TelemetrySource {
  collect(): Promise<CollectedTelemetry>;
}

export interface Collectors {
  metrics?: { collect(): Promise<SystemMetrics> };
  services?: { collect(): Promise<ServiceState[]> };
  docker?: { collect(): Promise<DockerReport> };
  inventory?: { due(): Promise<DueInventory | null>; acknowledged(hash: string): Promise<void> };
  /** Scanners: the Greenbone report (scanner/integrator.ts), due when changed or 10 minutes old. */
  scanner?: { due(): DueScannerStats | null; acknowledged(key: string): void };
  /** SMART disk health (smart.ts), read in the background every 10 minutes; each reading sent until acknowledged. */
  smart?: { due(): DueDiskHealth | null; acknowledged(key: number): void };
}

/** No collector may hold the heartbeat back longer than this. */
export const COLLECTOR_TIMEOUT_MS = 20_000;

/**
 * Runs the collectors side by side. One that throws or times out is left out of this heartbeat
 * and logged; the others still go.
 */
export function telemetrySource(collectors: Collectors, log: Logger, timeoutMs = COLLECTOR_TIMEOUT_MS): TelemetrySource {
  const guarded = async <T>(name: string, run: (() => Promise<T>) | undefined): Promise<T | undefined> => {
    if (!run) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      log.warn('collector failed; left out of this heartbeat', { collector: name, error: errorMessage(err) });
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };
  const { metrics, services, docker, inventory, scanner, smart } = collectors;
  return {
    async collect() {
      const [m, s, d, inv, sc, sm] = await Promise.all([
        guarded('metrics', metrics && (() => metrics.collect())),
        guarded('services', services && (() => services.collect())),
        guarded('docker', docker && (() => docker.collect())),
        guarded('inventory', inventory && (() => inventory.due())),
        guarded('scanner', scanner && (async () => scanner.due())),
        guarded('smart', smart && (async () => smart.due())),
      ]);
      const telemetry: Telemetry = {
        ...(m !== undefined ? { metrics: m } : {}),
        ...(s !== undefined ? { services: s } : {}),
        ...(d !== undefined ? { docker: d } : {}),
        ...(inv ? { inventory: inv.inventory } : {}),
        ...(sc ? { scannerStats: sc.scannerStats } : {}),
        ...(sm ? { diskHealth: sm.diskHealth } : {}),
      };
      return {
        telemetry,
        acknowledged: async () => {
          // the report stays due until a heartbeat carrying it is acknowledged
          if (sc && scanner) scanner.acknowledged(sc.key);
          if (sm && smart) smart.acknowledged(sm.key);
          if (inv && inventory) await inventory.acknowledged(inv.hash);
        },
      };
    },
  };
}
