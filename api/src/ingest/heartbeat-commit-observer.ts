/** One group commit as counted: how many heartbeats it wrote, and how long the write took. */
export interface HeartbeatCommitStats {
  /** Submissions (agent requests) in the group. */
  submissions: number;
  accepted: number;
  duplicates: number;
  /** The write, retries included. */
  seconds: number;
}

/**
 * Told about each group commit (metrics: api/src/metrics); it must not throw into the write.
 * Optional: an application without it (the worker, unit tests) counts nothing.
 */
export interface HeartbeatCommitObserver {
  committed(stats: HeartbeatCommitStats): void;
}

/** Injection token of the HeartbeatWriter's observer; the metrics module provides it. */
export const HEARTBEAT_COMMIT_OBSERVER = Symbol('HeartbeatCommitObserver');
