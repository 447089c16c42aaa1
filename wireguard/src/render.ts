// wg-quick config files. Inputs are validated; output is deterministic (the given order).
import { checkAddress, checkDeviceAllowedIps, checkEndpoint, checkInt, checkKey } from './validate.js';
import { validateHubPeers, type HubPeer } from './plan.js';

export interface DeviceConfigInput {
  privateKey: string;
  address: string;
  prefixLength: number;
  hubPublicKey: string;
  hubEndpoint: string;
  allowedIps: string[];
  persistentKeepaliveSeconds: number;
}

export interface HubConfigInput {
  privateKey: string;
  address: string;
  prefixLength: number;
  listenPort: number;
  peers: HubPeer[];
}

/** The device's wg-quick file (one peer: the hub). */
export function renderDeviceConfig(input: DeviceConfigInput): string {
  checkKey(input.privateKey, 'privateKey');
  checkAddress(input.address, input.prefixLength);
  checkKey(input.hubPublicKey, 'hubPublicKey');
  checkEndpoint(input.hubEndpoint);
  checkDeviceAllowedIps(input.allowedIps);
  checkInt(input.persistentKeepaliveSeconds, 0, 65535, 'persistentKeepaliveSeconds');
  return [
    '[Interface]',
    `PrivateKey = ${input.privateKey}`,
    `Address = ${input.address}/${input.prefixLength}`,
    '',
    '[Peer]',
    `PublicKey = ${input.hubPublicKey}`,
    `Endpoint = ${input.hubEndpoint}`,
    `AllowedIPs = ${input.allowedIps.join(', ')}`,
    `PersistentKeepalive = ${input.persistentKeepaliveSeconds}`,
    '',
  ].join('\n');
}

/** The hub's wg-quick file: the interface, then one [Peer] per device (each exactly its /32). */
export function renderHubConfig(input: HubConfigInput): string {
  checkKey(input.privateKey, 'privateKey');
  checkAddress(input.address, input.prefixLength);
  checkInt(input.listenPort, 1, 65535, 'listenPort');
  validateHubPeers(input.peers);
  const lines = [
    '[Interface]',
    `PrivateKey = ${input.privateKey}`,
    `Address = ${input.address}/${input.prefixLength}`,
    `ListenPort = ${input.listenPort}`,
  ];
  for (const peer of input.peers) lines.push('', '[Peer]', `PublicKey = ${peer.publicKey}`, `AllowedIPs = ${peer.allowedIps.join(', ')}`);
  return lines.join('\n') + '\n';
}
