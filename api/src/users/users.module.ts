import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { SettingsModule } from '../settings/settings.module.js';
import { BootstrapAdmin } from './bootstrap-admin.js';
import { UsersController } from './users.controller.js';
import { UsersService } from './users.service.js';

@Module({ imports: [AuthModule, SettingsModule], controllers: [UsersController], providers: [UsersService, BootstrapAdmin] })
export class UsersModule {}
