import { Module } from '@nestjs/common';
import { ScannerHistoryRepository } from './scanner-history.repository.js';
import { ScannerReportsService } from './scanner-reports.service.js';
import { ScannerSnapshotsRepository } from './scanner-snapshots.repository.js';

/**
 * Scanners' GMP reports without routes (and without the devices module): storing what heartbeats
 * carry (ingest) and what the alert engine judges (worker). The routes are ScannersModule's.
 */
@Module({
  providers: [ScannerSnapshotsRepository, ScannerHistoryRepository, ScannerReportsService],
  exports: [ScannerSnapshotsRepository, ScannerHistoryRepository, ScannerReportsService],
})
export class ScannersStoreModule {}
