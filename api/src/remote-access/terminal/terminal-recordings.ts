import { createReadStream, type ReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AppError } from '../../common/errors/app-error.js';
import { ensurePrivateDirectory } from '../../keys/private-files.js';
import { RemoteSessionsService } from '../remote-sessions.service.js';
import { AsciicastWriter, type AsciicastHeader } from './asciicast-writer.js';

/** Sessions whose files one pruning round removes before reading the next batch. */
const PRUNE_BATCH = 500;

/**
 * The recordings directory (API_TERMINAL_RECORDINGS_DIR): created 0700 at boot, and the process
 * refuses to start when group or others may enter it (recordings hold what operators typed and
 * saw). One `<sessionId>.cast` file (0600) per terminal session; remote_sessions.recording_file
 * holds that name.
 */
@Injectable()
export class TerminalRecordings implements OnModuleInit {
  private readonly logger = new Logger(TerminalRecordings.name);
  readonly directory: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: RemoteSessionsService,
  ) {
    this.directory = resolve(config.API_TERMINAL_RECORDINGS_DIR);
  }

  async onModuleInit(): Promise<void> {
    await ensurePrivateDirectory(this.directory);
  }

  get recordsInput(): boolean {
    return this.config.API_TERMINAL_RECORD_INPUT;
  }

  fileNameOf(sessionId: string): string {
    return `${sessionId}.cast`;
  }

  create(sessionId: string, header: AsciicastHeader, onFailure: (error: Error) => void): Promise<AsciicastWriter> {
    return AsciicastWriter.create(this.pathOf(this.fileNameOf(sessionId)), header, onFailure);
  }

  /** A recording to stream (RECORDING_NOT_FOUND once pruned, or when the file is gone). */
  async open(fileName: string | null): Promise<{ stream: ReadStream; size: number }> {
    if (!fileName)
      throw new AppError(
        'RECORDING_NOT_FOUND',
        'the recording was removed after the retention period (API_TERMINAL_RECORDING_RETENTION_DAYS)',
      );
    const path = this.pathOf(fileName);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile() || info.size === 0)
      throw new AppError('RECORDING_NOT_FOUND', 'the recording file is missing from the recordings directory');
    // Bounded to the size read now: a session still being recorded keeps growing the file.
    return { stream: createReadStream(path, { start: 0, end: Math.max(info.size - 1, 0) }), size: info.size };
  }

  /** Removes the files of sessions opened before `before`; the rows (and their sealed hashes) stay. */
  async prune(before: Date): Promise<string[]> {
    const pruned: string[] = [];
    for (;;) {
      const batch = await this.sessions.expiredRecordings(before, PRUNE_BATCH);
      for (const row of batch) {
        if (row.recordingFile) {
          await unlink(this.pathOf(row.recordingFile)).catch((error: NodeJS.ErrnoException) => {
            if (error.code !== 'ENOENT') throw error;
          });
        }
        await this.sessions.forgetRecordingFile(row.id);
        pruned.push(row.id);
      }
      if (batch.length < PRUNE_BATCH) break;
    }
    if (pruned.length) this.logger.log({ msg: 'terminal recordings pruned', sessions: pruned.length });
    return pruned;
  }

  /** Only a bare name inside the directory: a row can never point the API at another file. */
  private pathOf(fileName: string): string {
    return join(this.directory, basename(fileName));
  }
}
