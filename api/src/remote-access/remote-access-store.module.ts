import { Module } from '@nestjs/common';
import { RemoteSessionsRepository } from './remote-sessions.repository.js';
import { TerminalRecordings } from './terminal/terminal-recordings.js';

/**
 * The sessions' records and the recordings directory without SSH, WebSockets or routes: the
 * worker imports it to prune recordings past API_TERMINAL_RECORDING_RETENTION_DAYS. Not
 * RemoteSessionsService: its boot hook closes the sessions of its instance id (host and pid), which
 * a worker sharing a process or a pid with an API would take for that API's.
 */
@Module({
  providers: [RemoteSessionsRepository, TerminalRecordings],
  exports: [TerminalRecordings],
})
export class RemoteAccessStoreModule {}
