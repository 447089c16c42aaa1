import { AppError } from '../../common/errors/app-error.js';

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02, 7), as ssh2 puts them on an error's `code`. */
export const SFTP_STATUS = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
} as const;

/**
 * What a generic FAILURE means depends on the operation: OpenSSH's sftp-server (protocol 3) answers
 * EEXIST and ENOTEMPTY both as SSH_FX_FAILURE, so the caller says which one it can be.
 */
export type FailureMeaning = 'exists' | 'not_empty' | 'none';

/** Maps an SFTP error to the catalog's code, with a message naming the path and what the device said. */
export function toFileError(error: unknown, path: string, failureMeans: FailureMeaning = 'none'): AppError {
  if (error instanceof AppError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const said = ((error as Error | null)?.message ?? String(error)).slice(0, 300);
  switch (code) {
    case SFTP_STATUS.NO_SUCH_FILE:
      return new AppError('REMOTE_FILE_NOT_FOUND', `${path}: no such file or directory on the device`);
    case SFTP_STATUS.PERMISSION_DENIED:
      return new AppError('REMOTE_FILE_PERMISSION_DENIED', `${path}: the device refused access (${said})`);
    case SFTP_STATUS.FAILURE:
      if (failureMeans === 'exists') return new AppError('REMOTE_FILE_EXISTS', `${path} already exists on the device`);
      if (failureMeans === 'not_empty') return new AppError('REMOTE_FILE_NOT_EMPTY', `${path} is not empty: delete it with recursive`);
      return new AppError('REMOTE_FILE_FAILED', `${path}: the device answered: ${said}`);
    default:
      return new AppError('REMOTE_FILE_FAILED', `${path}: ${said}`);
  }
}

export function isNoSuchFile(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === SFTP_STATUS.NO_SUCH_FILE;
}
