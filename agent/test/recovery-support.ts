// Test support for the recovery agent's imaging specs: a "disk" file with realistic mixed
// content, and a TCP proxy that can cut connections or flip a byte in the upload.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Writes a disk of `size` bytes (a multiple of 1 MiB): per MiB, a mix like a used system disk —
 * empty space (zeros), text (logs, configs), and incompressible data (packages, media).
 */
export async function makeDisk(path: string, size: number, seed = 'xspectre'): Promise<void> {
  const MiB = 1024 * 1024;
  const fh = await open(path, 'w');
  try {
    const text = Buffer.from(
      Array.from(
        { length: 4096 },
        (_, i) =>
          `${seed} Dec  5 03:00:${String(i % 60).padStart(2, '0')} scanner gvmd[${1000 + (i % 97)}]: task ${i * 7919} done, hosts=${i % 255}\n`,
      ).join(''),
    );
    for (let at = 0, i = 0; at < size; at += MiB, i++) {
      const kind = i % 8;
      let block: Buffer;
      if (kind === 0 || kind === 5)
        block = Buffer.alloc(MiB); // free space
      else if (kind === 1 || kind === 3 || kind === 6) block = Buffer.alloc(MiB, text.subarray(i % 1000));
      else block = randomBytes(MiB); // compressed files, binaries
      await fh.write(block, 0, MiB, at);
    }
  } finally {
    await fh.close();
  }
}

export async function sha256File(path: string, length?: number): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream(path, length === undefined ? {} : { start: 0, end: length - 1 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface TestProxy {
  port: number;
  /** Client→server bytes forwarded so far. */
  readonly upBytes: number;
  /** Cuts every open connection once, when the client→server count passes `afterBytes`. */
  cutUpAfter(afterBytes: number): void;
  /** Cuts every open connection once, when the server→client count passes `afterBytes`. */
  cutDownAfter(afterBytes: number): void;
  /** Flips the last byte of the first client→server segment of ≥ 64 KiB (body bytes, never headers) past `afterBytes`. */
  flipUpAfter(afterBytes: number): void;
  /** While on, new connections are closed at once and reach no server (a server that is down). */
  setBlocked(on: boolean): void;
  /** Cuts like cutUpAfter, then blocks until setBlocked(false). */
  cutUpAndBlockAfter(afterBytes: number): void;
  readonly cuts: number;
  readonly flips: number;
  close(): Promise<void>;
}

/** `target`: the server's port, or a function asked at each connection (a server started again elsewhere). */
export async function startProxy(target: number | (() => number)): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  let up = 0;
  let down = 0;
  let cutUp: number | undefined;
  let cutDown: number | undefined;
  let flipUp: number | undefined;
  let cuts = 0;
  let flips = 0;
  let blocked = false;
  let blockAtCut = false;
  const cutAll = () => {
    cuts++;
    if (blockAtCut) blocked = true;
    blockAtCut = false;
    for (const s of sockets) s.destroy();
  };
  const server: Server = createServer((client) => {
    if (blocked) return void client.destroy();
    const upstream = connect(typeof target === 'number' ? target : target(), '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('data', (data: Buffer) => {
      up += data.length;
      if (flipUp !== undefined && up > flipUp && data.length >= 64 * 1024) {
        flipUp = undefined;
        flips++;
        data = Buffer.from(data);
        data[data.length - 1] = (data[data.length - 1] as number) ^ 0xff;
      }
      if (!upstream.write(data)) client.pause();
      if (cutUp !== undefined && up > cutUp) {
        cutUp = undefined;
        cutAll();
      }
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (data: Buffer) => {
      down += data.length;
      if (!client.write(data)) upstream.pause();
      if (cutDown !== undefined && down > cutDown) {
        cutDown = undefined;
        cutAll();
      }
    });
    client.on('drain', () => upstream.resume());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get upBytes() {
      return up;
    },
    get cuts() {
      return cuts;
    },
    get flips() {
      return flips;
    },
    cutUpAfter: (n) => {
      cutUp = up + n;
    },
    cutUpAndBlockAfter: (n) => {
      cutUp = up + n;
      blockAtCut = true;
    },
    setBlocked: (on) => {
      blocked = on;
    },
    cutDownAfter: (n) => {
      cutDown = down + n;
    },
    flipUpAfter: (n) => {
      flipUp = up + n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
