import { Module } from '@nestjs/common';
import { SecuritySettingsRepository } from './security-settings.repository.js';
import { SecuritySettingsService } from './security-settings.service.js';
import { SettingsController } from './settings.controller.js';

@Module({
  controllers: [SettingsController],
  providers: [SecuritySettingsRepository, SecuritySettingsService],
  exports: [SecuritySettingsService],
})
export class SettingsModule {}
