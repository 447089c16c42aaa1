import { Module } from '@nestjs/common';
import { RecoveryMediaQueries } from './recovery-media-queries.js';
import { RecoveryMediaRepository } from './recovery-media.repository.js';

/**
 * The recovery media table without routes: the worker's disk-image schedule asks
 * RecoveryMediaQueries whether a device has a stick. The repository is exported for
 * RecoveryModule in this folder only.
 */
@Module({
  providers: [RecoveryMediaRepository, RecoveryMediaQueries],
  exports: [RecoveryMediaRepository, RecoveryMediaQueries],
})
export class RecoveryStoreModule {}
