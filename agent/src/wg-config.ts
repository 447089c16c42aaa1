import { isIP } from 'node:net';
import { z } from 'zod';
import { WireGuardKeySchema, type EnrollResponse } from '@xspectre/contracts';
import { renderDeviceConfig } from '@xspectre/wireguard/pure';
import { parseWireGuardKey } from './wg-key.js';

/**
 * The tunnel part of the enrollment answer, checked strictly before any of it goes into a
 * wg-quick file (which root executes: a newline in a value could smuggle in `PostUp =`).
 */
const Cidr = z.string().refine((value) => {
  const [ip, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || ip === undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(ip);
  return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
}, 'must be an IP network like 10.10.0.1/32');

export const TunnelSchema = z.object({
  address: z.string().refine((v) => isIP(v) !== 0, 'must be an IP address'),
  prefixLength: z.number().int().min(8).max(128),
  hubPublicKey: WireGuardKeySchema,
  hubEndpoint: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port'),
  hubAddress: z.string().refine((v) => isIP(v) !== 0, 'must be an IP address'),
  allowedIps: z.array(Cidr).min(1),
  persistentKeepaliveSeconds: z.number().int().min(0).max(65535),
});
export type Tunnel = EnrollResponse['tunnel'];

export interface WgQuickConfigInput {
  privateKey: string;
  tunnel: Tunnel;
  deviceId: string;
}

/**
 * Renders `/etc/wireguard/wg0.conf` for wg-quick with @xspectre/wireguard's renderer (which checks
 * every value again). Pure; `tunnel` must have passed TunnelSchema.
 */
export function renderWgQuickConfig({ privateKey, tunnel, deviceId }: WgQuickConfigInput): string {
  const checked = TunnelSchema.parse(tunnel);
  return [
    `# Written by xspectre-agent enroll for device ${z.uuid().parse(deviceId)}. Re-enrolling rewrites it.`,
    renderDeviceConfig({
      privateKey: parseWireGuardKey(privateKey),
      address: checked.address,
      prefixLength: checked.prefixLength,
      hubPublicKey: checked.hubPublicKey,
      hubEndpoint: checked.hubEndpoint,
      allowedIps: checked.allowedIps,
      persistentKeepaliveSeconds: checked.persistentKeepaliveSeconds,
    }),
  ].join('\n');
}
