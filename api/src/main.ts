import { loadConfigOrExit } from './config/config.js';
import { createLogger } from './common/logging/logger.js';
import { createApp } from './create-app.js';
import { describeDatabase, waitForDatabaseAtBoot } from './db/wait-for-database.js';
import { WaitingServer } from './health/waiting-server.js';

const config = loadConfigOrExit();

const logger = createLogger(config.API_LOG_LEVEL);

// PostgreSQL may come up after us (a host reboot, a restarted container): wait for it and its
// migrated schema instead of exiting. Meanwhile a placeholder holds the port (liveness 200,
// readiness 503), so supervisors see a live instance that is not ready yet.
let waiting: WaitingServer | undefined;
const handleSignalsFromHereOn = await waitForDatabaseAtBoot(config.DB_URL, {
  logger,
  maxWaitSeconds: config.DB_WAIT_SECONDS,
  onWaiting: async (reason) => {
    waiting ??= await WaitingServer.listen(config.API_HOST, config.API_PORT, describeDatabase(config.DB_URL));
    waiting.setReason(reason);
  },
});

const app = await createApp(config, logger);
// Everything that can be slow (pools, bootstrap) happens before the port changes hands, so the
// gap between the placeholder closing and the app listening is a few milliseconds.
await app.init();
handleSignalsFromHereOn();
const port = waiting?.port ?? config.API_PORT;
await waiting?.close();
await app.listen({ port, host: config.API_HOST });
logger.info(
  { url: `http://${config.API_HOST}:${port}/api/v1`, docs: `http://${config.API_HOST}:${port}/api/docs` },
  'xSPECTRE Ops API listening',
);

// Nest closes on SIGTERM/SIGINT (enableShutdownHooks): in-flight requests finish, then pools close.
// If that hangs, leave anyway after the grace period.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('graceful shutdown timed out');
      process.exit(1);
    }, config.API_SHUTDOWN_GRACE_MS).unref();
  });
}
