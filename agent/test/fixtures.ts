import type { HeartbeatAck } from '@xspectre/contracts';
import type { AgentConfig } from '../src/config.js';

/** Sample values shared by the tests. */
export const CREDENTIAL = 'dc_test_Zm9vYmFyLXNlY3JldC1jcmVkZW50aWFs';
/** A real Ed25519 public key (its private half was thrown away) and its commandKeyId. */
export const COMMAND_KEY_PEM =
  '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA3sFrLiORpwiLLiNDL3ertH4IVjs687m9dmCl4O2bsyQ=\n-----END PUBLIC KEY-----\n';
export const COMMAND_KEY_ID = 'd70f5acbd3b0e07d';

export function sampleConfig(overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    deviceId: '0b9f3c1e-6f5a-4c43-9d0e-2f4b1a7c8d90',
    deviceName: 'scanner-01',
    apiUrl: 'http://10.10.0.1:3000/api/v1',
    deviceCredential: CREDENTIAL,
    commandSigningPublicKey: COMMAND_KEY_PEM,
    commandSigningKeys: [{ keyId: COMMAND_KEY_ID, publicKeyPem: COMMAND_KEY_PEM }],
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
