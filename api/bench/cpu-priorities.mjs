// The deployment's CPU shares, approximated on one machine for the fleet-reads benchmark
// (fleet-reads.mjs). The systemd units (infra/deploy/systemd) give the operators' API instance
// CPUWeight=50 and the agents' instance CPUWeight=200, beside PostgreSQL's default 100. A bench
// cannot put the machine's shared PostgreSQL into a group of its own, so it sets nice levels on the
// two API processes instead: the scheduler's weight changes about 1.25× per nice step, so half the
// default weight is nice +3 and twice it is nice -3. PostgreSQL and the load generator stay at 0.
// Only root may lower a nice level, so without root nothing is changed (and the run says so).
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

export const OPERATORS_NICE = 3;
export const AGENTS_NICE = -3;

/** Whether this run applies the deployment's priorities (BENCH_PRIORITIES=none turns them off). */
export function prioritiesWanted() {
  return process.env.BENCH_PRIORITIES !== 'none' && process.platform === 'linux' && process.getuid?.() === 0;
}

/**
 * Sets the nice level of every thread of `pid`: on Linux a process's nice level is its main
 * thread's, and V8's garbage-collector helpers and libuv's pool are threads of their own. Threads
 * started later inherit the level of the thread that starts them.
 */
export function niceProcess(pid, level) {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      setPriority(Number(tid), level);
    } catch (error) {
      if (error.code !== 'ESRCH') throw error; // a thread that ended meanwhile
    }
  }
}
