import { ERROR_CATALOG, type ErrorCode } from './error-catalog.js';

/** A failure the API means to report: its code decides the HTTP status (error-catalog.ts). */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string = ERROR_CATALOG[code].title,
    readonly extra: { errors?: { path: string; message: string }[]; retryAfterSeconds?: number } = {},
  ) {
    super(detail);
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_CATALOG[this.code].status;
  }
}
