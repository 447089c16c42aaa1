import { Module } from '@nestjs/common';
import { ScriptsController } from './scripts.controller.js';
import { ScriptsRepository } from './scripts.repository.js';
import { ScriptsService } from './scripts.service.js';

/** The script library: its routes, and ScriptsService for the commands feature (script runs). */
@Module({
  controllers: [ScriptsController],
  providers: [ScriptsRepository, ScriptsService],
  exports: [ScriptsService],
})
export class ScriptsModule {}
