import type { StoredBatch } from './heartbeat-store.js';

/** Told about each committed group of heartbeats (live updates); it must not throw into the write. */
export interface HeartbeatCommitListener {
  committed(batch: StoredBatch): void;
}

/** Injection token of the HeartbeatWriter's commit listener; the module that implements it provides it. */
export const HEARTBEAT_COMMIT_LISTENER = Symbol('HeartbeatCommitListener');
