import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { ClientChannel } from 'ssh2';
import type { WebSocket } from 'ws';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TERMINAL_WINDOW_BYTES, TerminalCloseCode, type TerminalServerMessage } from '@xspectre/contracts';
import type { DeviceSshConnection } from '../device-ssh.connector.js';
import { AsciicastWriter } from './asciicast-writer.js';
import { TerminalSession, type TerminalEnd } from './terminal-session.js';

/** ssh2's ClientChannel as the session uses it: data events, pause/resume, writes, setWindow. */
class ChannelDouble extends EventEmitter {
  readonly stderr = new EventEmitter();
  paused = false;
  written: Buffer[] = [];
  windows: number[][] = [];
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  write(bytes: Buffer) {
    this.written.push(bytes);
    return true;
  }
  setWindow(rows: number, cols: number, h: number, w: number) {
    this.windows.push([rows, cols, h, w]);
  }
}

/** ws's WebSocket as the session uses it; sends complete at once (bufferedAmount stays 0). */
class SocketDouble extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  binary: Buffer[] = [];
  json: TerminalServerMessage[] = [];
  closedWith: number | null = null;
  send(data: Buffer | string, options?: unknown, callback?: () => void) {
    if (typeof data === 'string') this.json.push(JSON.parse(data));
    else this.binary.push(data);
    if (typeof options === 'function') (options as () => void)();
    callback?.();
  }
  close(code: number) {
    this.closedWith = code;
    this.readyState = 3;
  }
  terminate() {}
  ping() {}
  pause() {}
  resume() {}
}

const ready: TerminalServerMessage = {
  type: 'ready',
  sessionId: '00000000-0000-4000-8000-000000000001',
  deviceId: '00000000-0000-4000-8000-000000000002',
  deviceName: 'scanner-1',
  hostKeyFingerprint: 'SHA256:x',
  idleTimeoutSeconds: 900,
  maxDurationSeconds: 3600,
  recordingInput: true,
};

describe('TerminalSession', () => {
  let dir: string;
  let channel: ChannelDouble;
  let ws: SocketDouble;
  let session: TerminalSession;
  let ends: TerminalEnd[];
  let connectionEnded: number;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-term-'));
    channel = new ChannelDouble();
    ws = new SocketDouble();
    ends = [];
    connectionEnded = 0;
    const connection: DeviceSshConnection = {
      certificateKeyId: 'k',
      hostKeyFingerprint: 'SHA256:x',
      shell: () => Promise.reject(new Error('unused')),
      sftp: () => Promise.reject(new Error('unused')),
      end: () => void connectionEnded++,
      closed: new Promise(() => undefined),
    };
    const recording = await AsciicastWriter.create(
      join(dir, 'r.cast'),
      { width: 80, height: 24, timestamp: 0, title: 't' },
      () => undefined,
    );
    session = new TerminalSession(
      ws as unknown as WebSocket,
      channel as unknown as ClientChannel,
      connection,
      recording,
      { idleTimeoutMs: 60_000, maxDurationMs: 3_600_000, recordInput: true },
      new Logger('test'),
      async (end) => void ends.push(end),
    );
    session.start(ready);
  });

  afterEach(async () => {
    await session.end('closed', 'test over');
    await rm(dir, { recursive: true, force: true });
  });

  it('pauses the channel once a window of output is unacknowledged, and resumes under half', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x79);
    const chunks = TERMINAL_WINDOW_BYTES / chunk.length;
    for (let i = 0; i < chunks - 1; i++) channel.emit('data', chunk);
    expect(channel.paused).toBe(false);
    channel.emit('data', chunk);
    expect(channel.paused).toBe(true);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'ack', bytes: TERMINAL_WINDOW_BYTES / 4 })), false);
    expect(channel.paused).toBe(true);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'ack', bytes: TERMINAL_WINDOW_BYTES / 4 })), false);
    // Credit is back under half; the recording may still be writing the window to disk.
    await vi.waitFor(() => expect(channel.paused).toBe(false));
    expect(ws.binary).toHaveLength(chunks);
  });

  it('pauses while the recording is behind, and resumes once it has caught up', async () => {
    for (let i = 0; i < 20; i++) channel.emit('data', Buffer.alloc(64 * 1024, 0x79));
    expect(channel.paused).toBe(true);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'ack', bytes: TERMINAL_WINDOW_BYTES })), false);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'ack', bytes: TERMINAL_WINDOW_BYTES })), false);
    await vi.waitFor(() => expect(channel.paused).toBe(false));
  });

  it('pauses while the WebSocket has a large send queue', () => {
    ws.bufferedAmount = 1024 * 1024;
    channel.emit('data', Buffer.from('x'));
    expect(channel.paused).toBe(true);
  });

  it('passes keystrokes, resizes the PTY, answers pings, and keeps the terminal open after a bad control message', () => {
    ws.emit('message', Buffer.from('ls\r'), true);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'resize', cols: 100, rows: 30 })), false);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'ping' })), false);
    ws.emit('message', Buffer.from('{not json'), false);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'resize', cols: 0, rows: 30 })), false);
    expect(Buffer.concat(channel.written).toString()).toBe('ls\r');
    expect(channel.windows).toEqual([[30, 100, 0, 0]]);
    expect(ws.json.map((m) => m.type)).toEqual(['ready', 'pong', 'error', 'error']);
    expect(ws.closedWith).toBeNull();
  });

  it('ends once with the exit code when the shell exits', async () => {
    channel.emit('exit', 3);
    channel.emit('close');
    ws.emit('close');
    const end = await session.end('error', 'later calls get the first end');
    expect(end).toMatchObject({ reason: 'closed', exitCode: 3 });
    expect(ends).toHaveLength(1);
    expect(ends[0]!.recording?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(ws.json.at(-1)).toEqual({ type: 'ended', reason: 'closed', exitCode: 3, message: 'the shell exited (code 3)' });
    expect(ws.closedWith).toBe(TerminalCloseCode.Ended);
    expect(connectionEnded).toBe(1);
  });

  it('calls a channel closed without an exit status a dropped device', async () => {
    channel.emit('close');
    const end = await session.end('closed', 'x');
    expect(end.reason).toBe('device_disconnected');
    expect(ws.closedWith).toBe(TerminalCloseCode.DeviceUnreachable);
  });

  it('closes with 4403 when access is revoked', async () => {
    await session.end('access_revoked', 'AUTH_USER_DISABLED');
    expect(ws.json.at(-1)).toMatchObject({ type: 'ended', reason: 'access_revoked' });
    expect(ws.closedWith).toBe(TerminalCloseCode.AccessRevoked);
  });
});
