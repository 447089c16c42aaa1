import type { HostFacts } from './facts.js';

/** What a subcommand gets from the process: injected so commands stay testable in-process. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Aborted on SIGTERM/SIGINT. Handlers are installed on the first call (only `run` asks). */
  shutdownSignal: () => AbortSignal;
  collectFacts: () => Promise<HostFacts>;
  now: () => Date;
}
