import { createHash } from 'node:crypto';

/**
 * SHA-256(serial | MAC | CPU id | installation salt). The MAC is the first one the agent lists:
 * it puts physical NICs first, so docker bridges and veths (which come and go) never count.
 */
export function hardwareFingerprint(input: {
  serial: string | null;
  macs: string[];
  cpuId: string | null;
  installationSalt: string;
}): string {
  const mac = input.macs[0]?.toLowerCase() ?? '';
  return createHash('sha256')
    .update([input.serial ?? '', mac, input.cpuId ?? '', input.installationSalt].join('|'), 'utf8')
    .digest('hex');
}
