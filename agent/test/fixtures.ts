import type { HeartbeatAck } from '@xspectre/contracts';
import type { AgentConfig } from '../src/config.js';

/** Sample values shared by the tests. */
export const CREDENTIAL = 'dc_test_Zm9vYmFyLXNlY3JldC1jcmVkZW50aWFs';

export function sampleConfig(overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    deviceId: '0b9f3c1e-6f5a-4c43-9d0e-2f4b1a7c8d90',
    deviceName: 'scanner-01',
    apiUrl: 'http://10.10.0.1:3000/api/v1',
    deviceCredential: CREDENTIAL,
    commandSigningPublicKey: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n',
    heartbeatIntervalSeconds: 30,
    protocolVersion: 1,
    overlayAddress: '10.10.0.21',
    overlayPrefixLength: 24,
    hubEndpoint: '198.18.0.1:51820',
    modules: { docker: false, scanner: true, backups: 'off' },
    enrolledAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

export function sampleAck(overrides: Partial<HeartbeatAck> = {}): HeartbeatAck {
  return {
    accepted: 1,
    duplicates: 0,
    lastSequence: 1,
    serverTime: '2025-01-01T00:00:00.000Z',
    heartbeatIntervalSeconds: 30,
    ...overrides,
  };
}
