/** `npm start -w backup-server`: configuration from BACKUP_* (./config.ts), logs as JSON lines on stdout. */
import { ConfigError, loadConfig } from './config.js';
import { startBackupServer } from './app.js';
import { errorText, jsonLineLogger as log } from './log.js';
import { loadBackupTokenPublicKeys } from './public-keys.js';
import { ApiReportSink, readServiceCredential } from './api-report-sink.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const publicKeys = await loadBackupTokenPublicKeys(config.BACKUP_TOKEN_PUBLIC_KEYS);
  log.log('info', 'backup-token keys loaded', { keyIds: publicKeys.map((k) => k.keyId).join(',') });
  const server = await startBackupServer(config, {
    publicKeys,
    log,
    // To the API with the service credential when configured; logged otherwise.
    sink:
      config.BACKUP_API_URL && config.BACKUP_SERVICE_CREDENTIAL_FILE
        ? new ApiReportSink(config.BACKUP_API_URL, await readServiceCredential(config.BACKUP_SERVICE_CREDENTIAL_FILE))
        : { send: async (report) => log.log('info', 'capacity report', { report: JSON.stringify(report) }) },
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log('info', 'stopping', { signal });
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.log('error', 'stop failed', { error: errorText(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Without its rclone instances the front only answers 502: exit and let systemd restart all.
  void Promise.race([server.rclone.appendOnly.exited, server.rclone.full.exited]).then(() => {
    if (stopping) return;
    log.log('error', 'an rclone instance exited; stopping');
    stop('rclone-exit');
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : `backup server failed to start: ${errorText(err)}`);
  process.exit(1);
});
