import { Module } from '@nestjs/common';
import { RemoteSessionsRepository } from './remote-sessions.repository.js';
import { RemoteSessionsService } from './remote-sessions.service.js';
import { TerminalRecordings } from './terminal/terminal-recordings.js';

/**
 * The sessions' records and the recordings directory, without SSH, WebSockets or routes: the API's
 * RemoteAccessModule builds on it, and the worker imports it to prune recordings past
 * API_TERMINAL_RECORDING_RETENTION_DAYS.
 */
@Module({
  providers: [RemoteSessionsRepository, RemoteSessionsService, TerminalRecordings],
  exports: [RemoteSessionsService, TerminalRecordings],
})
export class RemoteAccessStoreModule {}
