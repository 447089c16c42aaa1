import { Module } from '@nestjs/common';
import { ScannerHealthRepository } from './scanner-health.repository.js';
import { ScannerHealthService } from './scanner-health.service.js';
import { ScannerHistoryRepository } from './scanner-history.repository.js';
import { ScannerReportsService } from './scanner-reports.service.js';
import { ScannerSnapshotsRepository } from './scanner-snapshots.repository.js';

/**
 * Scanners' GMP reports without routes (and without the devices module): storing what heartbeats
 * carry (ingest) and what the alert engine judges (worker: ScannerHealthService). The routes are ScannersModule's.
 */
@Module({
  providers: [ScannerSnapshotsRepository, ScannerHistoryRepository, ScannerHealthRepository, ScannerReportsService, ScannerHealthService],
  exports: [ScannerSnapshotsRepository, ScannerHistoryRepository, ScannerReportsService, ScannerHealthService],
})
export class ScannersStoreModule {}
