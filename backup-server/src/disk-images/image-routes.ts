import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { DiskImageUploadCompleteSchema, DiskImageUploadCreateSchema, type DiskImageTokenOp } from '@xspectre/contracts';
import { errorText, type Logger } from '../log.js';
import { decideImageAccess, parseRange, parseUploadOffset, type ImageTarget } from './image-rules.js';
import { DiskImageStore, ImageError } from './image-store.js';

/** JSON bodies (create, complete with the metadata) are small; anything larger is refused. */
export const MAX_JSON_BODY_BYTES = 256 * 1024;
/** After a refusal mid-body, at most this much of the rest is read away to deliver the answer. */
export const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
/** A PATCH whose body stalls this long is cut; what arrived stays and the device resumes. */
export const DEFAULT_BODY_IDLE_MS = 120_000;

export interface ImageRequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  op: DiskImageTokenOp;
  /** The images to keep the API put in the image-append token (1–20, checked with the token); absent: BACKUP_IMAGE_KEEP. */
  keepImages?: number;
  target: ImageTarget;
  store: DiskImageStore;
  log: Logger;
  /** Answers with a plain-text message (and records it as the request's reason). */
  refuse(status: number, message: string, extra?: Record<string, string>): void;
  /** Records a note for the request's log line (never a token). */
  note(reason: string): void;
  countIn(bytes: number): void;
  countOut(bytes: number): void;
  bodyIdleMs?: number;
}

function json(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(text);
}

const mediaType = (req: IncomingMessage): string => (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (mediaType(req) !== 'application/json') throw new ImageError(415, 'the body must be application/json');
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_JSON_BODY_BYTES)
    throw new ImageError(413, `a JSON body is at most ${MAX_JSON_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_JSON_BODY_BYTES) throw new ImageError(413, `a JSON body is at most ${MAX_JSON_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ImageError(400, 'the body is not valid JSON');
  }
}

function invalid(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): ImageError {
  const first = error.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`)
    .join('; ');
  return new ImageError(400, `invalid request body: ${first}`);
}

/** The `/disk-images/<device>/…` routes after the front checked token, device and path (../front.ts). */
export async function handleImageRequest(ctx: ImageRequestContext): Promise<void> {
  const { req, res, target, store } = ctx;
  const method = req.method ?? '';
  const access = decideImageAccess(ctx.op, method, target);
  if (!access.allowed) return ctx.refuse(access.status, access.message);
  try {
    switch (target.kind) {
      case 'uploads': {
        const body = DiskImageUploadCreateSchema.safeParse(await readJson(req));
        if (!body.success) throw invalid(body.error);
        const { created, state } = await store.createUpload(target.device, body.data);
        ctx.note(created ? `upload ${state.uploadId} created` : `upload ${state.uploadId} resumed at ${state.offset}`);
        return json(res, created ? 201 : 200, state, {
          'upload-offset': String(state.offset),
          location: `/disk-images/${target.device}/uploads/${state.uploadId}`,
        });
      }
      case 'upload': {
        if (method === 'PATCH') return await patch(ctx, target.device, target.uploadId);
        req.resume();
        const state = await store.uploadState(target.device, target.uploadId);
        if (method === 'HEAD') {
          res.writeHead(200, { 'upload-offset': String(state.offset), 'cache-control': 'no-store' });
          return void res.end();
        }
        return json(res, 200, state, { 'upload-offset': String(state.offset) });
      }
      case 'complete': {
        const body = DiskImageUploadCompleteSchema.safeParse(await readJson(req));
        if (!body.success) throw invalid(body.error);
        const done = await store.complete(target.device, target.uploadId, body.data, ctx.keepImages);
        ctx.note(`published ${done.imageName}${done.deleted.length ? `; pruned ${done.deleted.join(',')}` : ''}`);
        return json(res, 201, {
          imageName: done.imageName,
          compressedBytes: body.data.compressedBytes,
          sha256Compressed: body.data.sha256Compressed,
          pruned: done.deleted,
        });
      }
      case 'list': {
        req.resume();
        const list = await store.list(target.device);
        if (method === 'HEAD') {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
          return void res.end();
        }
        return json(res, 200, list);
      }
      case 'image':
      case 'metadata':
        req.resume();
        return await download(ctx, target.device, target.imageName, target.kind);
    }
  } catch (err) {
    if (err instanceof ImageError) return ctx.refuse(err.status, err.message, err.extra);
    ctx.log.log('error', 'disk-image request failed', { kind: target.kind, error: errorText(err) });
    return ctx.refuse(500, 'disk-image request failed');
  }
}

async function patch(ctx: ImageRequestContext, device: string, uploadId: string): Promise<void> {
  const { req, res } = ctx;
  const type = mediaType(req);
  if (type !== 'application/octet-stream' && type !== 'application/offset+octet-stream') {
    throw new ImageError(415, 'the body must be application/octet-stream');
  }
  const offset = parseUploadOffset(req.headers['upload-offset']);
  if (offset === undefined) throw new ImageError(400, 'Upload-Offset header required: the decimal byte offset the body starts at');
  const lengthHeader = req.headers['content-length'];
  const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
  // A stalled body would hold the upload's lock: cut it, what arrived stays.
  const idle = ctx.bodyIdleMs ?? DEFAULT_BODY_IDLE_MS;
  req.setTimeout(idle, () => req.destroy(new Error(`no body bytes for ${idle} ms`)));
  const reading = { started: false };
  const body = counted(req, ctx.countIn, reading);
  let result: Awaited<ReturnType<DiskImageStore['append']>>;
  try {
    result = await ctx.store.append(device, uploadId, offset, contentLength, body);
  } catch (err) {
    // Refused before the body was touched: the front's answer lets node discard it. Refused
    // mid-body (limit, full disk): the body has a reader now, so read the rest away here for
    // the device to get the answer, unless that is more than DRAIN_LIMIT_BYTES (then cut).
    if (!reading.started) throw err;
    let drained = 0;
    for await (const chunk of body) {
      drained += chunk.length;
      if (drained > DRAIN_LIMIT_BYTES) {
        req.destroy();
        break;
      }
    }
    throw err;
  }
  if (result.interrupted !== undefined) {
    ctx.note(`body ended early at offset ${result.offset}: ${result.interrupted}`);
    // Its own line: the request line may already be written when the socket closed.
    ctx.log.log('warn', 'disk-image upload interrupted', { device, uploadId, offset: result.offset, error: result.interrupted });
    // The client is gone (or will get nothing useful): the resume point is what HEAD says.
    if (!res.headersSent) res.destroy();
    return;
  }
  if (contentLength !== undefined && result.offset !== offset + contentLength) {
    throw new ImageError(400, 'the body ended before Content-Length', { 'upload-offset': String(result.offset) });
  }
  res.writeHead(204, { 'upload-offset': String(result.offset), 'cache-control': 'no-store' });
  res.end();
}

/** The body as the store reads it, counted for the request metrics (a 'data' listener would fight the iterator). */
async function* counted(
  source: AsyncIterable<Buffer>,
  count: (bytes: number) => void,
  reading: { started: boolean },
): AsyncGenerator<Buffer> {
  reading.started = true;
  for await (const chunk of source) {
    count(chunk.length);
    yield chunk;
  }
}

async function download(ctx: ImageRequestContext, device: string, imageName: string, which: 'image' | 'metadata'): Promise<void> {
  const { req, res, store } = ctx;
  const file = await store.file(device, imageName, which);
  if (!file) throw new ImageError(404, `no image ${imageName} for this device`);
  const headers: Record<string, string> = {
    'content-type': which === 'image' ? 'application/zstd' : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'accept-ranges': which === 'image' ? 'bytes' : 'none',
  };
  if (which === 'image') {
    const sha = await store.sha256(device, imageName);
    if (sha) headers.etag = `"sha256-${sha}"`;
  }
  let start = 0;
  let end = file.size - 1;
  let status = 200;
  if (which === 'image') {
    const range = parseRange(req.headers.range, file.size);
    if (range.kind === 'unsatisfiable') {
      return ctx.refuse(416, 'range not satisfiable', { 'content-range': `bytes */${file.size}` });
    }
    if (range.kind === 'partial') {
      ({ start, end } = range);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
    }
  }
  headers['content-length'] = String(Math.max(0, end - start + 1));
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || file.size === 0) return void res.end();
  const stream = DiskImageStore.stream(file.path, start, end);
  stream.on('data', (chunk: Buffer) => ctx.countOut(chunk.length));
  await pipeline(stream, res).catch((err: unknown) => ctx.note(`download ended early: ${errorText(err)}`));
}
