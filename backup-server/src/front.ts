import { request as httpRequest, Agent, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { verifyBackupToken, type BackupTokenKey } from '@xspectre/contracts/backup-token';
import { BackupTokenOpSchema, DiskImageTokenOpSchema } from '@xspectre/contracts';
import { decideAccess, type Upstream } from './access-rules.js';
import { parseBasicAuth } from './basic-auth.js';
import { isImagePath, parseImageTarget, type ImageTarget } from './disk-images/image-rules.js';
import { handleImageRequest } from './disk-images/image-routes.js';
import type { DiskImageStore } from './disk-images/image-store.js';
import { errorText, type Logger } from './log.js';
import type { FrontRequestObserver } from './metrics.js';
import { parseRequestTarget, type RepoTarget } from './request-target.js';
import type { StorageDriver } from './storage/storage-driver.js';

/**
 * The authenticating front before the two rclone instances: checks the token (basic-auth
 * password), the device (basic-auth user, the path's first segment and the token's `sub` must
 * agree) and the operation class, then streams the request to one instance and the answer
 * back. It does not speak restic's protocol beyond the path shapes (./request-target.ts).
 */
export interface UpstreamTarget {
  port: number;
  authorization: string;
}

export interface FrontOptions {
  publicKeys: () => readonly BackupTokenKey[];
  storage: StorageDriver;
  upstreams: Record<Upstream, UpstreamTarget>;
  log: Logger;
  logRequests: boolean;
  now?: () => Date;
  /** Counts each answered request and its bytes (./metrics.ts). */
  metrics?: FrontRequestObserver;
  /** The full-disk image store behind `/disk-images/<device>/…` (./disk-images/); without it those paths answer 404. */
  images?: DiskImageStore;
}

/** Below this much free space (plus the upload's size) a failed write is taken as "full". */
export const FULL_MARGIN_BYTES = 1024 * 1024;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
]);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

function answer(res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(`${message}\n`);
}

const TOKEN_MESSAGES: Record<string, string> = {
  expired: 'backup token expired',
  not_yet_valid: 'backup token not yet valid',
  unknown_key: 'backup token signed by an unknown key',
  bad_signature: 'backup token signature invalid',
};

export function createFrontHandler(options: FrontOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const provisioned = new Map<string, Promise<void>>();
  const now = options.now ?? (() => new Date());

  const provision = (device: string): Promise<void> => {
    let pending = provisioned.get(device);
    if (!pending) {
      pending = options.storage.ensureDevice(device);
      provisioned.set(device, pending);
      // A failed creation is retried by the next request.
      pending.catch(() => provisioned.delete(device));
    }
    return pending;
  };

  /** After a failed upload: is the device's quota or the pool full? */
  const isFull = async (device: string, contentLength: number): Promise<boolean> => {
    try {
      const usage = await options.storage.deviceUsage(device);
      return usage !== undefined && usage.availableBytes < contentLength + FULL_MARGIN_BYTES;
    } catch (err) {
      options.log.log('warn', 'usage check after a failed upload failed', { device, error: errorText(err) });
      return false;
    }
  };

  return (req, res) => {
    const started = Date.now();
    const method = req.method ?? '';
    const entry: Record<string, string | number | undefined> = { method: method.slice(0, 16), path: (req.url ?? '').slice(0, 300) };
    let reason: string | undefined;
    let bytesIn = 0;
    let bytesOut = 0;
    res.on('close', () => {
      options.metrics?.answered(typeof entry.op === 'string' ? entry.op : 'none', res.statusCode, bytesIn, bytesOut);
      if (!options.logRequests) return;
      // A connection closed before the answer was sent: the status is only what was set so far.
      const cut = res.writableFinished ? undefined : true;
      options.log.log('info', 'request', { ...entry, status: res.statusCode, ms: Date.now() - started, reason, closedEarly: cut });
    });
    const refuse = (status: number, message: string, extra?: Record<string, string>) => {
      reason = message;
      req.resume();
      answer(res, status, message, extra);
    };

    // Two families of paths: restic repositories `/<device>/…` (to rclone) and full-disk
    // images `/disk-images/<device>/…` (answered here); each opens only with its own token ops.
    let target: RepoTarget | undefined;
    let imageTarget: ImageTarget | undefined;
    if (isImagePath(req.url)) {
      if (!options.images) return refuse(404, 'disk images are not served here');
      const parsedImage = parseImageTarget(req.url!);
      if (!parsedImage.ok) return refuse(parsedImage.status, parsedImage.message);
      imageTarget = parsedImage.target;
    } else {
      const parsed = parseRequestTarget(req.url);
      if (!parsed.ok) return refuse(parsed.status, parsed.message);
      target = parsed.target;
    }
    const device = target?.device ?? imageTarget!.device;

    const auth = parseBasicAuth(req.headers.authorization);
    const challenge = { 'www-authenticate': 'Basic realm="xspectre-backup", charset="UTF-8"' };
    if (!auth) return refuse(401, 'backup token required (basic auth: user = device id, password = token)', challenge);
    const verdict = verifyBackupToken(auth.password, options.publicKeys(), now());
    if (!verdict.ok) return refuse(401, TOKEN_MESSAGES[verdict.reason] ?? `backup token invalid (${verdict.reason})`, challenge);
    const { claims } = verdict;
    entry.device = claims.sub;
    entry.op = claims.op;
    entry.jti = claims.jti;
    if (auth.user !== claims.sub || device !== claims.sub) return refuse(403, 'backup token is for another device');

    const imageOp = DiskImageTokenOpSchema.safeParse(claims.op);
    if (imageTarget) {
      if (!imageOp.success) return refuse(403, `a restic ${claims.op} token does not open disk images`);
      void handleImageRequest({
        req,
        res,
        op: imageOp.data,
        ...(claims.keepImages === undefined ? {} : { keepImages: claims.keepImages }),
        target: imageTarget,
        store: options.images!,
        log: options.log,
        refuse,
        note: (text) => (reason = text),
        countIn: (n) => (bytesIn += n),
        countOut: (n) => (bytesOut += n),
      });
      return;
    }
    const resticOp = BackupTokenOpSchema.safeParse(claims.op);
    if (!resticOp.success) return refuse(403, `a disk-image token (${claims.op}) does not open restic repositories`);
    const decision = decideAccess(resticOp.data, method, target!);
    if (!decision.allowed) return refuse(decision.status, decision.message);
    const upstream = options.upstreams[decision.upstream];

    const forward = () => {
      const contentLength = Number(req.headers['content-length'] ?? 0) || 0;
      const upstreamReq = httpRequest({
        host: '127.0.0.1',
        port: upstream.port,
        method,
        path: req.url,
        agent,
        headers: { ...forwardable(req.headers), authorization: upstream.authorization },
      });
      // rclone answers a write that hit ENOSPC/EDQUOT with a bare 500, often closing the
      // connection before the body is sent (EPIPE here): either way, say what it was when the
      // device's quota or the pool is full.
      const FULL = "insufficient storage: this device's backup quota or the backup pool is full";
      let answered = false;
      upstreamReq.on('response', (upstreamRes) => {
        answered = true;
        const status = upstreamRes.statusCode ?? 502;
        const pass = () => {
          if (res.headersSent || res.destroyed) return upstreamRes.resume();
          res.writeHead(status, forwardable(upstreamRes.headers));
          upstreamRes.on('aborted', () => res.destroy());
          upstreamRes.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
          upstreamRes.pipe(res);
        };
        if (status < 500 || method !== 'POST') return pass();
        void isFull(claims.sub, contentLength).then((full) => {
          if (!full) return pass();
          upstreamRes.resume();
          refuse(507, FULL);
        });
      });
      upstreamReq.on('error', (err) => {
        // After the response began, a late write error (EPIPE) changes nothing.
        if (answered) return;
        answered = true;
        options.log.log('error', 'upstream request failed', { upstream: decision.upstream, error: errorText(err) });
        if (method !== 'POST') return refuse(502, 'backup storage unavailable');
        void isFull(claims.sub, contentLength).then((full) => (full ? refuse(507, FULL) : refuse(502, 'backup storage unavailable')));
      });
      req.on('aborted', () => upstreamReq.destroy());
      res.on('close', () => {
        if (!res.writableFinished) upstreamReq.destroy();
      });
      // Counted as it streams; added in the same turn as the pipe, so no chunk is missed.
      req.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
      req.pipe(upstreamReq);
    };

    if (claims.op !== 'append') return forward();
    provision(claims.sub).then(forward, (err: unknown) => {
      options.log.log('error', 'device storage could not be created', { device: claims.sub, error: errorText(err) });
      refuse(503, 'backup storage for this device could not be created');
    });
  };
}
