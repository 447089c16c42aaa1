// The fleet-reads benchmark's agents' API instance (fleet-reads.mjs, BENCH_AGENT_INSTANCE): the
// same installation as the benchmark's own API (database, Redis prefix, secret, key store), in a
// process of its own, so agents' heartbeats and operators' reads do not share one event loop, as
// in a deployment whose load balancer sends /api/v1/agent/ to instances of their own. Every
// instance serves every route; the split is the proxy's.
// Reads its settings as JSON on stdin, prints {"port": n} once listening, exits on SIGTERM.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';

let input = '';
for await (const chunk of process.stdin) {
  input += chunk;
  if (input.includes('\n')) break;
}
const { dist, env } = JSON.parse(input);
const fromDist = (path) => import(pathToFileURL(join(dist, path)).href);
const { loadConfig } = await fromDist('config/config.js');
const { createApp } = await fromDist('create-app.js');
const { createLogger } = await fromDist('common/logging/logger.js');

const app = await createApp(loadConfig(env), createLogger('silent', pino.destination({ dest: '/dev/null', sync: false })));
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: app.getHttpServer().address().port })}\n`);
// Stopped by SIGTERM from the benchmark (stdin was consumed above by an iterator that closed it,
// so its 'end' never comes).
process.on('SIGTERM', () => void app.close().finally(() => process.exit(0)));
