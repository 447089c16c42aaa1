import type { GmpErrorCode } from '@xspectre/contracts';

export type { GmpErrorCode };

/** A failed GMP step, with the code the agent reports (`scannerStats.gmp.error.code`). */
export class GmpError extends Error {
  constructor(
    readonly code: GmpErrorCode,
    message: string,
    /** gvmd's status attribute when the failure is an answer (e.g. `400`). */
    readonly status: string | null = null,
  ) {
    super(message);
    this.name = 'GmpError';
  }
}

/**
 * gvmd's status of a command's answer → our code. gvmd answers permission problems with 400
 * `Permission denied` (XML_ERROR_SYNTAX in gvmd's gmp.c) or 403; a failed login with 400
 * `Authentication failed`; a command before authenticate with 400 `Only command GET_VERSION is
 * allowed before AUTHENTICATE` (and 401 `Authenticate first` is reserved for it).
 */
export function codeForStatus(command: string, status: string, statusText: string): GmpErrorCode {
  const text = statusText.toLowerCase();
  if (status === '403' || text.includes('permission denied') || text.includes('access to resource forbidden')) return 'permission';
  if (status === '401' || text.includes('before authenticate') || text.includes('authenticate first')) return 'auth_failed';
  if (command === 'authenticate' && status.startsWith('4')) return 'auth_failed';
  return 'protocol';
}
