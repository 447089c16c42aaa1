import { Module } from '@nestjs/common';
import { SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';

/**
 * Operator sessions on their own (Database only): AuthModule re-exports it, and the worker
 * imports it without AuthModule, whose controller and login limits belong to the API. The
 * repository is exported for AuthService in this folder; other folders cannot import its class
 * (api/lint/layers.mjs), so they can only inject SessionsService.
 */
@Module({ providers: [SessionsRepository, SessionsService], exports: [SessionsService, SessionsRepository] })
export class SessionsModule {}
