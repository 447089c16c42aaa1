import { loadConfigOrExit } from './config/config.js';
import { createLogger } from './common/logging/logger.js';
import { createApp } from './create-app.js';

const config = loadConfigOrExit();

const logger = createLogger(config.API_LOG_LEVEL);
const app = await createApp(config, logger);
await app.listen({ port: config.API_PORT, host: config.API_HOST });
logger.info(
  { url: `http://${config.API_HOST}:${config.API_PORT}/api/v1`, docs: `http://${config.API_HOST}:${config.API_PORT}/api/docs` },
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
