/**
 * A small local HTTP server that speaks the agent's side of the real wire contract
 * (`POST /api/v1/enroll`, `POST /api/v1/agent/heartbeats`, and the backup routes
 * `agent/backup-tokens`, `agent/backup-progress`, `agent/backup-transfer-key`), validating every request with the
 * @xspectre/contracts schemas and answering only schema-valid bodies. It stands in for the
 * API so agent-protocol.spec.ts and journal-replay.spec.ts test the agent's side alone; the
 * fleet lab specs (api/test/lab-*.spec.ts) run the agent against the real API.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AgentBackupProgressSchema,
  AgentBackupTokenRequestSchema,
  AgentBackupTokenResponseSchema,
  AgentBackupTransferKeySchema,
  EnrollRequestSchema,
  EnrollResponseSchema,
  HeartbeatAckSchema,
  HeartbeatBatchSchema,
  HeartbeatSchema,
  ProblemSchema,
  type AgentBackupProgress,
  type AgentBackupTokenRequest,
  type AgentBackupTokenResponse,
  type EnrollRequest,
  type EnrollResponse,
  type Heartbeat,
} from '@xspectre/contracts';
import { commandKeyId } from '@xspectre/contracts/command-signature';

type ClaimStatus = 'active' | 'used' | 'expired' | 'revoked';

interface FakeDevice {
  id: string;
  credential: string;
  sequences: Set<number>;
  lastSequence: number;
}

export interface FakeApi {
  /** Base URL, like the real `https://ops/api/v1`. */
  url: string;
  enrollRequests: EnrollRequest[];
  enrollResponses: EnrollResponse[];
  /** Heartbeats that passed validation and authentication, in arrival order. */
  heartbeats: Heartbeat[];
  /** Heartbeat requests received but not answered yet. */
  pendingHeartbeats: number;
  /** Holds each heartbeat answer this long (to catch the agent mid-request). */
  heartbeatDelayMs: number;
  /**
   * Refuse heartbeat requests, as an unreachable API would: `'close'` destroys the socket
   * without an answer, `503` answers a gateway-style 503 (no problem body). Default false.
   */
  refuseHeartbeats: false | 'close' | 503;
  /** Heartbeat requests refused so far. */
  refusedHeartbeats: number;
  /** Sequences of each accepted heartbeat request (one array per request, duplicates included). */
  heartbeatRequests: number[][];
  /** Answers the fake gave with an error: path, status, code. */
  errors: { path: string; status: number; code: string }[];
  addClaimCode(status?: ClaimStatus): string;
  /** A device as if enrolled (for the backup routes), without an enroll request. */
  addDevice(): { id: string; credential: string };
  /** Answers `agent/backup-tokens` (the test signs tokens as the API would); unset: 404 BACKUP_RUN_NOT_FOUND. */
  backupTokens: ((deviceId: string, request: AgentBackupTokenRequest) => AgentBackupTokenResponse | undefined) | undefined;
  /** Accepted `agent/backup-progress` bodies, with the device that sent them. */
  backupProgress: (AgentBackupProgress & { deviceId: string })[];
  /** Accepted `agent/backup-transfer-key` recipients by device; `refuseTransferKeys`: answer 404 as an API without the route. */
  transferKeys: Map<string, string>;
  refuseTransferKeys: boolean;
  close(): Promise<void>;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const HEARTBEAT_INTERVAL_SECONDS = 5; // the contract's minimum: keeps the tests short

function wgPublicKey(): string {
  const priv = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), randomBytes(32)]),
    format: 'der',
    type: 'pkcs8',
  });
  return createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
}

export async function startFakeApi(): Promise<FakeApi> {
  const claimCodes = new Map<string, ClaimStatus>();
  const devices = new Map<string, FakeDevice>(); // by credential
  const hubPublicKey = wgPublicKey();
  const commandKey = generateKeyPairSync('ed25519').publicKey;
  const commandSigningPublicKey = commandKey.export({ format: 'pem', type: 'spki' }).toString();
  let nextHost = 21;

  const api: FakeApi = {
    url: '',
    enrollRequests: [],
    enrollResponses: [],
    heartbeats: [],
    pendingHeartbeats: 0,
    heartbeatDelayMs: 0,
    refuseHeartbeats: false,
    refusedHeartbeats: 0,
    heartbeatRequests: [],
    errors: [],
    addClaimCode(status: ClaimStatus = 'active') {
      const code = Array.from(randomBytes(20), (b) => BASE32[b % 32]).join('');
      claimCodes.set(code, status);
      return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8, 12)}-${code.slice(12, 16)}-${code.slice(16)}`;
    },
    addDevice() {
      const device: FakeDevice = {
        id: randomUUID(),
        credential: `xsd_${randomBytes(32).toString('base64url')}`,
        sequences: new Set(),
        lastSequence: 0,
      };
      devices.set(device.credential, device);
      return { id: device.id, credential: device.credential };
    },
    backupTokens: undefined,
    backupProgress: [],
    transferKeys: new Map(),
    refuseTransferKeys: false,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  function problem(req: IncomingMessage, res: ServerResponse, status: number, code: string, detail: string) {
    const body = ProblemSchema.parse({ type: 'about:blank', title: code.toLowerCase().replaceAll('_', ' '), status, detail, code });
    api.errors.push({ path: req.url ?? '', status, code });
    res.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify(body));
  }

  function json(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }

  async function enroll(req: IncomingMessage, res: ServerResponse) {
    const parsed = EnrollRequestSchema.safeParse(await readJson(req));
    if (!parsed.success)
      return problem(req, res, 400, 'VALIDATION_FAILED', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    api.enrollRequests.push(parsed.data);
    const status = claimCodes.get(parsed.data.claimCode);
    if (status === undefined) return problem(req, res, 404, 'CLAIM_CODE_INVALID', 'No such claim code.');
    if (status === 'used') return problem(req, res, 409, 'CLAIM_CODE_USED', 'This claim code has already been used.');
    if (status === 'expired') return problem(req, res, 410, 'CLAIM_CODE_EXPIRED', 'This claim code has expired.');
    if (status === 'revoked') return problem(req, res, 410, 'CLAIM_CODE_REVOKED', 'This claim code was revoked.');
    claimCodes.set(parsed.data.claimCode, 'used');
    const device: FakeDevice = {
      id: randomUUID(),
      credential: `xsd_${randomBytes(32).toString('base64url')}`,
      sequences: new Set(),
      lastSequence: 0,
    };
    devices.set(device.credential, device);
    const host = nextHost++;
    const answer = EnrollResponseSchema.parse({
      deviceId: device.id,
      deviceName: `scanner-${host}`,
      deviceType: 'scanner',
      tunnel: {
        address: `10.10.0.${host}`,
        prefixLength: 24,
        hubPublicKey,
        hubEndpoint: '198.18.0.1:51820',
        hubAddress: '10.10.0.1',
        allowedIps: ['10.10.0.1/32'],
        persistentKeepaliveSeconds: 25,
      },
      apiUrl: api.url, // stands in for the overlay address of the API
      deviceCredential: device.credential,
      commandSigningPublicKey,
      commandSigningKeys: [{ keyId: commandKeyId(commandKey), publicKeyPem: commandSigningPublicKey }],
      heartbeatIntervalSeconds: HEARTBEAT_INTERVAL_SECONDS,
      modules: { docker: false, scanner: true, backups: 'off' },
    });
    api.enrollResponses.push(answer);
    json(res, 201, answer);
  }

  async function heartbeats(req: IncomingMessage, res: ServerResponse) {
    if (api.refuseHeartbeats) {
      api.refusedHeartbeats++;
      if (api.refuseHeartbeats === 'close') return void req.socket.destroy();
      return void res.writeHead(503, { 'content-type': 'text/plain' }).end('service unavailable');
    }
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const device = match?.[1] === undefined ? undefined : devices.get(match[1]);
    if (!device) return problem(req, res, 401, 'AUTH_UNAUTHORIZED', 'Missing or unknown device credential.');
    const parsed = HeartbeatSchema.or(HeartbeatBatchSchema).safeParse(await readJson(req));
    if (!parsed.success)
      return problem(req, res, 400, 'VALIDATION_FAILED', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const batch = 'heartbeats' in parsed.data ? parsed.data.heartbeats : [parsed.data];
    if (batch.some((hb) => hb.deviceId !== device.id))
      return problem(req, res, 403, 'AGENT_DEVICE_MISMATCH', 'Heartbeat for another device.');
    api.pendingHeartbeats++;
    await new Promise((resolve) => setTimeout(resolve, api.heartbeatDelayMs));
    api.pendingHeartbeats--;
    let accepted = 0;
    let duplicates = 0;
    api.heartbeatRequests.push(batch.map((hb) => hb.sequence));
    for (const hb of batch) {
      if (device.sequences.has(hb.sequence)) {
        duplicates++;
        continue;
      }
      device.sequences.add(hb.sequence);
      device.lastSequence = Math.max(device.lastSequence, hb.sequence);
      api.heartbeats.push(hb);
      accepted++;
    }
    json(
      res,
      200,
      HeartbeatAckSchema.parse({
        accepted,
        duplicates,
        lastSequence: device.lastSequence,
        serverTime: new Date().toISOString(),
        heartbeatIntervalSeconds: HEARTBEAT_INTERVAL_SECONDS,
      }),
    );
  }

  function authenticated(req: IncomingMessage): FakeDevice | undefined {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return match?.[1] === undefined ? undefined : devices.get(match[1]);
  }

  async function backupTokens(req: IncomingMessage, res: ServerResponse) {
    const device = authenticated(req);
    if (!device) return problem(req, res, 401, 'AUTH_UNAUTHORIZED', 'Missing or unknown device credential.');
    const parsed = AgentBackupTokenRequestSchema.safeParse(await readJson(req));
    if (!parsed.success) return problem(req, res, 400, 'VALIDATION_FAILED', parsed.error.message);
    const answer = api.backupTokens?.(device.id, parsed.data);
    if (!answer) return problem(req, res, 404, 'BACKUP_RUN_NOT_FOUND', 'No such run of this device.');
    json(res, 200, AgentBackupTokenResponseSchema.parse(answer));
  }

  async function backupProgress(req: IncomingMessage, res: ServerResponse) {
    const device = authenticated(req);
    if (!device) return problem(req, res, 401, 'AUTH_UNAUTHORIZED', 'Missing or unknown device credential.');
    const parsed = AgentBackupProgressSchema.safeParse(await readJson(req));
    if (!parsed.success) return problem(req, res, 400, 'VALIDATION_FAILED', parsed.error.message);
    api.backupProgress.push({ ...parsed.data, deviceId: device.id });
    res.writeHead(204).end();
  }

  async function transferKey(req: IncomingMessage, res: ServerResponse) {
    if (api.refuseTransferKeys) return problem(req, res, 404, 'NOT_FOUND', `No route ${req.method} ${req.url}.`);
    const device = authenticated(req);
    if (!device) return problem(req, res, 401, 'AUTH_UNAUTHORIZED', 'Missing or unknown device credential.');
    const parsed = AgentBackupTransferKeySchema.safeParse(await readJson(req));
    if (!parsed.success) return problem(req, res, 400, 'VALIDATION_FAILED', parsed.error.message);
    api.transferKeys.set(device.id, parsed.data.recipient);
    res.writeHead(204).end();
  }

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    'POST /api/v1/enroll': enroll,
    'POST /api/v1/agent/heartbeats': heartbeats,
    'POST /api/v1/agent/backup-tokens': backupTokens,
    'POST /api/v1/agent/backup-progress': backupProgress,
    'POST /api/v1/agent/backup-transfer-key': transferKey,
  };
  const server: Server = createServer((req, res) => {
    const route = `${req.method} ${req.url}`;
    const handler = routes[route];
    if (!handler) return problem(req, res, 404, 'NOT_FOUND', `No route ${route}.`);
    handler(req, res).catch((err: unknown) => problem(req, res, 400, 'BAD_REQUEST', String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  return api;
}
