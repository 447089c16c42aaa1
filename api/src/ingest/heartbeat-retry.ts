import { QueryFailedError } from 'typeorm';
import { AppError } from '../common/errors/app-error.js';
import { STALE_DOCUMENT_CLAIM } from './heartbeat-batch.repository.js';

/** What the writer does after a failed batch write. */
export type HeartbeatRetry =
  /** PostgreSQL says "try again" (deadlock, serialization failure): the same batch once more. */
  | { action: 'again' }
  /** Another instance wrote a device's document since this one did (nothing was stored): the batch again, every document in full. */
  | { action: 'again-in-full' }
  /** The data of one submission is at fault: write each submission alone, so it does not fail its neighbours. */
  | { action: 'each-alone' }
  /** Give up: answer every submission of the batch with this error. */
  | { action: 'fail'; error: AppError };

/** The failures already seen while writing one batch. */
export interface RetryHistory {
  submissions: number;
  /** Deadlocks and serialization failures so far. */
  transient: number;
  /** Rewrites in full so far. */
  inFull: number;
}

const TRANSIENT = new Set(['40P01', '40001']);
/** Writes of one batch at most when PostgreSQL keeps saying "try again". */
const MAX_ATTEMPTS = 3;

const sqlState = (error: unknown) => (error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined);
/** Data exception (22) or constraint violation (23): the submission's data, not the database. */
const isDataError = (error: unknown) => /^(22|23)/.test(String(sqlState(error)));

/**
 * Every retry decision of the heartbeat path, in one place. Agents retry anything but a 4xx,
 * so database trouble ends as a 503 with a hint (never a stack) and refused data as a 400.
 */
export function heartbeatRetry(error: unknown, history: RetryHistory): HeartbeatRetry {
  const code = sqlState(error);
  if (code && TRANSIENT.has(code) && history.transient + 1 < MAX_ATTEMPTS) return { action: 'again' };
  // Sent in full, a batch carries no claims: a second stale claim would be a defect, not a race.
  if (code === STALE_DOCUMENT_CLAIM && history.inFull === 0) return { action: 'again-in-full' };
  if (isDataError(error)) {
    if (history.submissions > 1) return { action: 'each-alone' };
    return {
      action: 'fail',
      error: new AppError('VALIDATION_FAILED', 'the heartbeat could not be stored: its data was refused by the database'),
    };
  }
  if (error instanceof AppError) return { action: 'fail', error };
  return {
    action: 'fail',
    error: new AppError('SERVICE_UNAVAILABLE', 'the database is unavailable; keep the heartbeats journaled and retry', {
      retryAfterSeconds: 5,
    }),
  };
}
