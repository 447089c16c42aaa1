// Entry point of `xspectre-agent` (node dist/main.js, and the single executable built from it).
// No top-level await and no import.meta: esbuild bundles this file to CommonJS for the SEA.
import { runCli } from './cli.js';
import { collectFacts } from './facts.js';

let shutdown: AbortController | undefined;

/** SIGTERM/SIGINT abort the signal (a clean stop); a second signal exits at once. */
function shutdownSignal(): AbortSignal {
  if (!shutdown) {
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
      controller.abort();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    shutdown = controller;
  }
  return shutdown.signal;
}

runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  shutdownSignal,
  collectFacts: () => collectFacts(),
  now: () => new Date(),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`xspectre-agent: ${String(err)}\n`);
    process.exit(1);
  },
);
