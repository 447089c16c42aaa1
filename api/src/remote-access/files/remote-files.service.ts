import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ListRemoteFilesQuery, RemoteFileEntry, RemoteFileList, RemoteFileResult } from '@xspectre/contracts';
import type { Readable } from 'node:stream';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AppError } from '../../common/errors/app-error.js';
import { requestContext, type Actor } from '../../common/context/request-context.js';
import { AuditService } from '../../audit/audit.service.js';
import { RemoteAccessPolicy, remoteOperatorOf } from '../remote-access-policy.js';
import { SftpConnections, type SftpLease } from './sftp-connections.js';
import { SftpReadStream } from './sftp-download.js';
import { fileTypeOf, pageOf, sortEntries } from './sftp-listing.js';
import { baseName, tempUploadName } from './sftp-names.js';
import { call, entryAt, lstatOrNull, readDirectory, readlink, removeTree, stat } from './sftp-ops.js';
import { writeBody } from './sftp-upload.js';

const OPEN_WRITE_EXCLUSIVE = 'wx';

/** An open download: the stream, its size and name; the audit row is written when the response finishes. */
export interface RemoteDownload {
  stream: SftpReadStream;
  size: number;
  name: string;
  /** Call when the response has ended (`completed` false: the client went away or the read failed). */
  finished(completed: boolean): void;
}

/**
 * The file manager (issue 14): every call authorized again (RemoteAccessPolicy), then done over
 * the operator's SFTP session to the device as root. Mutations put their path(s) into the
 * request's audit row; transfers write their own (detached) audit rows with size and SHA-256,
 * since they run outside the request's unit of work.
 */
@Injectable()
export class RemoteFilesService {
  private readonly logger = new Logger(RemoteFilesService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly policy: RemoteAccessPolicy,
    private readonly connections: SftpConnections,
    private readonly audit: AuditService,
  ) {}

  async list(actor: Actor, deviceId: string, query: ListRemoteFilesQuery): Promise<RemoteFileList> {
    return this.with(actor, deviceId, async ({ sftp }) => {
      const target = await stat(sftp, query.path);
      if (fileTypeOf(target.mode) !== 'directory') throw new AppError('REMOTE_FILE_WRONG_TYPE', `${query.path} is not a directory`);
      const all = sortEntries(await readDirectory(sftp, query.path), query.sort, query.order);
      const items = pageOf(all, query.limit, query.offset);
      for (const entry of items) if (entry.type === 'symlink') entry.linkTarget = await readlink(sftp, entry.path).catch(() => null);
      return { items, total: all.length, limit: query.limit, offset: query.offset, path: query.path, directoriesFirst: true as const };
    });
  }

  stat(actor: Actor, deviceId: string, path: string): Promise<RemoteFileEntry> {
    return this.with(actor, deviceId, ({ sftp }) => entryAt(sftp, path));
  }

  mkdir(actor: Actor, deviceId: string, path: string, mode: number): Promise<RemoteFileResult> {
    requestContext.annotate({ resourceId: deviceId, details: { path, mode: mode.toString(8) } });
    return this.with(actor, deviceId, async ({ sftp }) => {
      await call<void>(path, (done) => sftp.mkdir(path, { mode }, done), 'exists');
      return result(path, await entryAt(sftp, path));
    });
  }

  rename(actor: Actor, deviceId: string, from: string, to: string, overwrite: boolean): Promise<RemoteFileResult> {
    requestContext.annotate({ resourceId: deviceId, details: { path: from, to, overwrite } });
    return this.with(actor, deviceId, async ({ sftp }) => {
      await entryAt(sftp, from);
      const existing = await lstatOrNull(sftp, to);
      if (existing && !overwrite)
        throw new AppError('REMOTE_FILE_EXISTS', `${to} already exists on the device (rename with overwrite to replace it)`);
      if (overwrite) await call<void>(to, (done) => sftp.ext_openssh_rename(from, to, done));
      else await call<void>(to, (done) => sftp.rename(from, to, done), 'exists');
      return result(to, await entryAt(sftp, to));
    });
  }

  delete(actor: Actor, deviceId: string, path: string, recursive: boolean, confirm: string): Promise<RemoteFileResult> {
    requestContext.annotate({ resourceId: deviceId, details: { path, recursive } });
    if (confirm !== path)
      throw new AppError(
        'REMOTE_FILE_CONFIRMATION_MISMATCH',
        `confirm must repeat the path exactly (${JSON.stringify(path)}); nothing was deleted`,
      );
    if (path === '/') throw new AppError('REMOTE_FILE_WRONG_TYPE', 'the root directory cannot be deleted');
    return this.with(actor, deviceId, async ({ sftp }) => {
      const entry = await entryAt(sftp, path);
      if (entry.type !== 'directory') await call<void>(path, (done) => sftp.unlink(path, done));
      else if (recursive) await removeTree(sftp, path);
      else await call<void>(path, (done) => sftp.rmdir(path, done), 'not_empty');
      return result(path, null);
    });
  }

  chmod(actor: Actor, deviceId: string, path: string, mode: number): Promise<RemoteFileResult> {
    requestContext.annotate({ resourceId: deviceId, details: { path, mode: mode.toString(8) } });
    return this.with(actor, deviceId, async ({ sftp }) => {
      await call<void>(path, (done) => sftp.chmod(path, mode, done));
      return result(path, await entryAt(sftp, path));
    });
  }

  /** Opens a regular file for download; the caller streams it and reports how the response ended. */
  async download(actor: Actor, deviceId: string, path: string): Promise<RemoteDownload> {
    const lease = await this.lease(actor, deviceId);
    try {
      const { sftp } = lease;
      const attrs = await stat(sftp, path);
      if (fileTypeOf(attrs.mode) !== 'file')
        throw new AppError('REMOTE_FILE_WRONG_TYPE', `${path} is not a regular file: only files can be downloaded`);
      const handle = await call<Buffer>(path, (done) => sftp.open(path, 'r', done));
      const stream = new SftpReadStream(sftp, handle, attrs.size, path);
      const onAbort = () => stream.destroy(lease.signal.reason as Error);
      lease.signal.addEventListener('abort', onAbort, { once: true });
      let done = false;
      return {
        stream,
        size: attrs.size,
        name: baseName(path),
        finished: (completed) => {
          if (done) return;
          done = true;
          lease.signal.removeEventListener('abort', onAbort);
          lease.release();
          const whole = completed && stream.bytes === attrs.size;
          void this.audit
            .appendDetached({
              action: 'files.download',
              resourceType: 'device',
              resourceId: deviceId,
              result: whole ? 'success' : 'failure',
              ...(whole ? {} : { errorMessage: `REMOTE_FILE_FAILED: the download stopped after ${stream.bytes} of ${attrs.size} bytes` }),
              details: {
                path,
                sessionId: lease.sessionId,
                bytes: stream.bytes,
                ...(whole ? { sha256: stream.hash.digest('hex') } : { size: attrs.size }),
              },
            })
            .catch((error: unknown) => this.logger.error({ msg: 'could not audit a download', err: (error as Error).message }));
        },
      };
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  /**
   * Streams `body` to a temporary name beside `path`, then renames it onto `path` (refused when
   * it exists unless `overwrite`). On any failure the temporary file is removed and `path` is as
   * it was. Audited (detached: the transfer holds no transaction) with bytes and SHA-256.
   */
  async upload(
    actor: Actor,
    deviceId: string,
    path: string,
    overwrite: boolean,
    body: Readable,
    declaredBytes: number | null,
  ): Promise<RemoteFileResult> {
    requestContext.annotate({ resourceId: deviceId, details: { path, overwrite } });
    const max = this.config.API_FILES_MAX_UPLOAD_BYTES;
    if (declaredBytes !== null && declaredBytes > max)
      throw new AppError('REMOTE_FILE_TOO_LARGE', `the upload is ${declaredBytes} bytes; this API accepts at most ${max}`);
    const lease = await this.lease(actor, deviceId);
    const { sftp } = lease;
    let temp: string | null = null;
    try {
      const existing = await lstatOrNull(sftp, path);
      if (existing && !overwrite)
        throw new AppError('REMOTE_FILE_EXISTS', `${path} already exists on the device (upload with overwrite=true to replace it)`);
      if (existing && fileTypeOf(existing.mode) === 'directory') throw new AppError('REMOTE_FILE_WRONG_TYPE', `${path} is a directory`);
      const tempPath = tempUploadName(path);
      const handle = await call<Buffer>(tempPath, (done) =>
        sftp.open(tempPath, OPEN_WRITE_EXCLUSIVE, { mode: existing ? existing.mode & 0o7777 : 0o644 }, done),
      );
      temp = tempPath;
      let written;
      try {
        written = await writeBody(sftp, handle, body, { path, maxBytes: max, signal: lease.signal });
      } finally {
        await call<void>(tempPath, (done) => sftp.close(handle, done)).catch(() => undefined);
      }
      if (overwrite) await call<void>(path, (done) => sftp.ext_openssh_rename(tempPath, path, done));
      else await call<void>(path, (done) => sftp.rename(tempPath, path, done), 'exists');
      temp = null;
      const entry = await entryAt(sftp, path);
      await this.audit.appendDetached({
        action: 'files.upload',
        resourceType: 'device',
        resourceId: deviceId,
        result: 'success',
        details: { path, overwrite, sessionId: lease.sessionId, bytes: written.bytes, sha256: written.sha256 },
      });
      return { path, entry, bytes: written.bytes, sha256: written.sha256 };
    } catch (error) {
      if (temp) await this.removeQuietly(lease, temp);
      throw error;
    } finally {
      lease.release();
    }
  }

  /** Removes a half-written upload; when the session itself is gone there is nothing left to do it with. */
  private async removeQuietly(lease: SftpLease, temp: string): Promise<void> {
    await call<void>(temp, (done) => lease.sftp.unlink(temp, done)).catch((error: unknown) =>
      this.logger.warn({ msg: 'could not remove a temporary upload file', path: temp, err: (error as Error).message }),
    );
  }

  private async lease(actor: Actor, deviceId: string): Promise<SftpLease> {
    const operator = remoteOperatorOf(actor);
    const target = await this.policy.authorize(operator, deviceId);
    return this.connections.acquire(operator, target);
  }

  private async with<T>(actor: Actor, deviceId: string, run: (lease: SftpLease) => Promise<T>): Promise<T> {
    const lease = await this.lease(actor, deviceId);
    try {
      return await run(lease);
    } finally {
      lease.release();
    }
  }
}

function result(path: string, entry: RemoteFileEntry | null): RemoteFileResult {
  return { path, entry, bytes: null, sha256: null };
}
