import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import { AppError } from '../../common/errors/app-error.js';
import { toFileError } from './sftp-errors.js';

/** Writes in flight before the request body is paused (OpenSSH's sftp keeps 64 requests outstanding). */
export const WRITES_IN_FLIGHT = 64;

export interface UploadResult {
  bytes: number;
  sha256: string;
}

/**
 * Copies `body` into the open remote `handle`: each chunk is written at its offset as it arrives,
 * up to WRITES_IN_FLIGHT writes outstanding (the body is paused beyond that, so a fast client
 * cannot fill memory), counting bytes and SHA-256. Rejects, and stops reading, when the body ends
 * early (the client went away), a write fails, `maxBytes` is passed, or `signal` is aborted.
 */
export function writeBody(
  sftp: SFTPWrapper,
  handle: Buffer,
  body: Readable,
  options: { path: string; maxBytes: number; signal: AbortSignal },
): Promise<UploadResult> {
  const hash = createHash('sha256');
  return new Promise<UploadResult>((resolve, reject) => {
    let offset = 0;
    let inFlight = 0;
    let ended = false;
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      options.signal.removeEventListener('abort', onAbort);
      body.removeListener('data', onData);
      body.removeListener('end', onEnd);
      body.removeListener('error', onError);
      body.removeListener('close', onClose);
      if (error) {
        // Not destroyed: that would cut the socket before the error answer is sent. The route closes
        // the connection after answering (RemoteFilesController.upload), so the rest is never read.
        body.pause();
        body.on('error', () => undefined);
        return reject(error);
      }
      resolve({ bytes: offset, sha256: hash.digest('hex') });
    };
    const onAbort = () =>
      finish(
        options.signal.reason instanceof Error ? options.signal.reason : new AppError('REMOTE_FILE_FAILED', 'the upload was cancelled'),
      );
    const onData = (chunk: Buffer) => {
      if (offset + chunk.length > options.maxBytes)
        return finish(new AppError('REMOTE_FILE_TOO_LARGE', `the upload is larger than ${options.maxBytes} bytes`));
      hash.update(chunk);
      const position = offset;
      offset += chunk.length;
      inFlight++;
      if (inFlight >= WRITES_IN_FLIGHT) body.pause();
      try {
        sftp.write(handle, chunk, 0, chunk.length, position, (error) => {
          inFlight--;
          if (error) return finish(toFileError(error, options.path));
          if (settled) return;
          if (inFlight < WRITES_IN_FLIGHT / 2 && body.isPaused()) body.resume();
          if (ended && inFlight === 0) finish(null);
        });
      } catch (error) {
        finish(toFileError(error, options.path));
      }
    };
    const onEnd = () => {
      ended = true;
      if (inFlight === 0) finish(null);
    };
    const onError = (error: Error) => finish(new AppError('REMOTE_FILE_FAILED', `the upload did not arrive whole: ${error.message}`));
    // 'close' without 'end': the client went away mid-body.
    const onClose = () => {
      if (!ended) finish(new AppError('REMOTE_FILE_FAILED', 'the upload did not arrive whole: the client closed the connection'));
    };
    if (options.signal.aborted) return onAbort();
    options.signal.addEventListener('abort', onAbort);
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
    body.resume();
  });
}
