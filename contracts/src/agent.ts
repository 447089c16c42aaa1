import { z } from 'zod';
import { DiskHealthReportSchema } from './disk-health.js';
import { ClaimCodeTextSchema, DeviceModulesSchema, DeviceTypeSchema } from './devices.js';
import { CommandKeyIdSchema } from './command-envelope.js';
import {
  DockerReportSchema,
  JournalGapSchema,
  MAX_CPU_CORES,
  MAX_MEMORY_BYTES,
  MAX_STORAGE_BYTES,
  MAX_UPTIME_SECONDS,
  ServiceStateSchema,
  SystemMetricsSchema,
} from './telemetry.js';
import { isSmallOrderWireGuardKey } from './wireguard-keys.js';
import { ScannerStatsSchema } from './scanner-stats.js';
import { DeviceSshSetupSchema } from './remote-access.js';

/** Every agent message names the protocol version it speaks; changes are additive. */
export const AGENT_PROTOCOL_VERSION = 1;
export const ProtocolVersionSchema = z.literal(AGENT_PROTOCOL_VERSION, {
  error: `unsupported agent protocol version: this API speaks ${AGENT_PROTOCOL_VERSION}`,
});

/** WireGuard keys: 32 bytes, base64 (44 characters ending in "="), never a small-order point. */
export const WireGuardKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, 'must be a WireGuard public key (44 base64 characters)')
  .refine(
    (key) => !isSmallOrderWireGuardKey(key),
    'must not be a small-order Curve25519 point (e.g. all zeros): no handshake can complete with it, generate a new key pair',
  );
const MacSchema = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i, 'must be a MAC address like 52:54:00:12:34:56');
const IpSchema = z.union([z.ipv4(), z.ipv6()]);
/** An OpenSSH public host key line (the agent sends the ed25519 one; terminal sessions pin it). */
export const SshHostKeySchema = z
  .string()
  .max(2048)
  .regex(/^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/, 'must be an OpenSSH public host key');
const Text = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

export const HardwareFactsSchema = z
  .object({
    vendor: Text(120).nullable(),
    model: Text(120).nullable(),
    serial: Text(120).nullable(),
    cpu: z.object({ model: Text(200), cores: z.number().int().min(1).max(MAX_CPU_CORES), id: Text(200).nullable() }).strict(),
    ramBytes: z.number().int().min(0).max(MAX_MEMORY_BYTES),
    disks: z
      .array(
        z
          .object({
            name: Text(64),
            model: Text(200).nullable(),
            serial: Text(200).nullable(),
            sizeBytes: z.number().int().min(0).max(MAX_STORAGE_BYTES),
          })
          .strict(),
      )
      .max(64),
    os: z.object({ name: Text(120), version: Text(120), kernel: Text(120) }).strict(),
  })
  .strict();
export type HardwareFacts = z.infer<typeof HardwareFactsSchema>;

export const NicSchema = z
  .object({
    name: Text(64),
    mac: MacSchema.nullable(),
    physical: z.boolean().describe('backed by a device (not a bridge, veth or tunnel)'),
    addresses: z.array(IpSchema).max(64),
  })
  .strict();
export type Nic = z.infer<typeof NicSchema>;

/**
 * What a heartbeat's `inventory` carries: the hardware facts plus the network cards, the MAC
 * list in the order enrollment used (the API recomputes the fingerprint from it) and the
 * agent version. The additions are optional so early protocol-1 agents stay valid.
 */
export const InventoryReportSchema = HardwareFactsSchema.extend({
  macs: z.array(MacSchema).max(64).optional(),
  nics: z.array(NicSchema).max(64).optional(),
  agentVersion: Text(40).optional(),
  sshHostKey: SshHostKeySchema.optional().describe(
    'the sshd host key the device presents now (ed25519 preferred), so a change is seen before anyone connects',
  ),
  agentBuildId: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
    .optional()
    .describe(
      'SHA-256 of the JavaScript bundle built into the executable (agent/build-sea.mjs); absent when not run from a built executable',
    ),
}).strict();
export type InventoryReport = z.infer<typeof InventoryReportSchema>;

export const EnrollRequestSchema = z
  .object({
    protocolVersion: ProtocolVersionSchema,
    claimCode: ClaimCodeTextSchema,
    hostname: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[A-Za-z0-9.-]+$/, 'must be a hostname'),
    localIps: z.array(IpSchema).max(64),
    macs: z.array(MacSchema).min(1, 'at least one MAC address (it is part of the hardware fingerprint)').max(64),
    hardware: HardwareFactsSchema,
    /** Random per installation, kept by the agent: part of the fingerprint. */
    installationSalt: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16-128 url-safe characters'),
    wgPublicKey: WireGuardKeySchema,
    sshHostKey: SshHostKeySchema,
    agentVersion: Text(40),
  })
  .strict();
export type EnrollRequest = z.infer<typeof EnrollRequestSchema>;

/** A command-signing public key as the agent pins it; the id is commandKeyId of the key (contracts/src/node/command-signature.ts). */
export const CommandSigningKeySchema = z.object({
  keyId: CommandKeyIdSchema,
  publicKeyPem: z.string().max(4096).describe('Ed25519 public key, SPKI PEM'),
});
export type CommandSigningKey = z.infer<typeof CommandSigningKeySchema>;

export const EnrollResponseSchema = z.object({
  deviceId: z.uuid(),
  deviceName: z.string(),
  deviceType: DeviceTypeSchema,
  tunnel: z.object({
    address: z.string().describe('the device overlay address, e.g. 10.10.0.21'),
    prefixLength: z.number().int().min(8).max(32),
    hubPublicKey: WireGuardKeySchema,
    hubEndpoint: z.string().describe('host:port of the hub on the underlay'),
    hubAddress: z.string(),
    allowedIps: z.array(z.string()).describe('what the device routes into the tunnel: the hub only'),
    persistentKeepaliveSeconds: z.number().int(),
  }),
  apiUrl: z.string().describe('the API as reached over the overlay'),
  deviceCredential: z.string().describe('shown once; the API keeps a hash'),
  commandSigningPublicKey: z.string().describe('the current command-signing key (Ed25519 public key, PEM); kept for protocol 1 agents'),
  commandSigningKeys: z
    .array(CommandSigningKeySchema)
    .min(1)
    .max(16)
    .describe('every command-signing key valid now, the current one first: the agent pins them all (several during a rotation)'),
  heartbeatIntervalSeconds: z.number().int().min(5).max(3600),
  modules: DeviceModulesSchema,
  ssh: DeviceSshSetupSchema.optional().describe(
    'what the device sshd trusts for terminal and file sessions (the user CA, the principal, the account); the agent applies it when enrolled as root',
  ),
});
export type EnrollResponse = z.infer<typeof EnrollResponseSchema>;

/** A heartbeat: the minimal fields plus optional telemetry (`telemetry.ts`), added without a new protocol version. */
export const HeartbeatSchema = z
  .object({
    protocolVersion: ProtocolVersionSchema,
    deviceId: z.uuid(),
    sequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    sentAt: z.iso.datetime({ offset: true }),
    agentVersion: Text(40),
    uptimeSeconds: z.number().min(0).max(MAX_UPTIME_SECONDS),
    // Telemetry (all optional, so protocol 1 agents without it stay valid).
    metrics: SystemMetricsSchema.optional(),
    services: z.array(ServiceStateSchema).max(2000).optional(),
    docker: DockerReportSchema.optional(),
    /** Sent at start and whenever it changed. */
    inventory: InventoryReportSchema.optional(),
    journalGap: JournalGapSchema.optional(),
    /** Scanners only: what gvmd says over GMP (scanner-stats.ts), when it changed and at least every 10 minutes. */
    scannerStats: ScannerStatsSchema.optional(),
    /** SMART health of the disks (agent/src/collectors/smart.ts), after each reading (every 10 minutes). */
    diskHealth: DiskHealthReportSchema.optional(),
  })
  .strict();
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

export const HeartbeatBatchSchema = z.object({ heartbeats: z.array(HeartbeatSchema).min(1).max(1000) }).strict();
export const HeartbeatAckSchema = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  lastSequence: z.number().int(),
  serverTime: z.string(),
  heartbeatIntervalSeconds: z.number().int(),
  /**
   * Signed commands waiting for the device: fetch them even when the long poll is broken. This
   * API always sends it; optional so an agent still accepts acks of an API that predates it.
   */
  pendingCommands: z.number().int().min(0).optional(),
});
export type HeartbeatAck = z.infer<typeof HeartbeatAckSchema>;
