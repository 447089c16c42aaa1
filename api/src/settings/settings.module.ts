import { Module } from '@nestjs/common';
import { SecuritySettingsRepository } from './security-settings.repository.js';
import { SettingsController } from './settings.controller.js';

@Module({ controllers: [SettingsController], providers: [SecuritySettingsRepository], exports: [SecuritySettingsRepository] })
export class SettingsModule {}
