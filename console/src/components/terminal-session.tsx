'use client';

import '@xterm/xterm/css/xterm.css';
import {
  TERMINAL_MAX_COLS,
  TERMINAL_MAX_ROWS,
  TERMINAL_WINDOW_BYTES,
  TerminalCloseCode,
  TerminalServerMessageSchema,
  TerminalTicketSchema,
  type TerminalClientMessage,
  type TerminalServerMessage,
  type TerminalTarget,
} from '@xspectre/contracts';
import type { FitAddon } from '@xterm/addon-fit';
import type { Terminal } from '@xterm/xterm';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, problemOf } from '../lib/api-client';
import { AckCounter, END_REASON_TEXT } from '../lib/remote-access';
import styles from './terminal-session.module.css';
import { Button } from './ui';
import { TERMINAL_FONT, consoleTerminalTheme, loadXterm } from './xterm-loader';

type Ready = Extract<TerminalServerMessage, { type: 'ready' }>;
type State =
  | { kind: 'connecting' }
  | { kind: 'connected'; ready: Ready }
  | { kind: 'ended'; title: string; message: string }
  | { kind: 'error'; title: string; message: string };

/** Browsers cannot see protocol pings: a JSON ping keeps proxies from closing an idle socket. */
const PING_MS = 25_000;
/** Acks what is pending once output has been quiet this long. */
const ACK_IDLE_MS = 50;

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

/** What a close without an `ended` message means for the operator. */
function closeText(code: number, reason: string): { title: string; message: string } {
  if (code === TerminalCloseCode.AccessRevoked) return { title: 'Access revoked', message: reason || 'Your access to this device ended.' };
  if (code === TerminalCloseCode.DeviceUnreachable)
    return { title: 'The device is unreachable', message: reason || 'The SSH connection to the device could not be kept.' };
  if (code === 1006) return { title: 'Connection lost', message: 'The connection to the console dropped (network or server).' };
  if (code === 1008) return { title: 'Refused', message: reason || 'The API refused the terminal (ticket, origin or permission).' };
  return { title: 'Disconnected', message: reason || `The terminal connection closed (code ${code}).` };
}

/**
 * One terminal on a device: a ticket from `POST devices/:id/terminal-sessions`, then a WebSocket
 * carrying bytes both ways (binary frames) and control messages (JSON text frames). Output is
 * acknowledged after xterm rendered it, so the API pauses the device when the browser lags.
 */
export function TerminalSession({
  deviceId,
  deviceName,
  visible = true,
  target = 'device',
}: {
  deviceId: string;
  deviceName: string;
  visible?: boolean;
  /** `recovery`: a root shell on the device's booted recovery stick (Super Admin). */
  target?: TerminalTarget;
}) {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const fit = useRef<FitAddon | null>(null);
  const socket = useRef<WebSocket | null>(null);
  const [state, setState] = useState<State>({ kind: 'connecting' });
  const [attempt, setAttempt] = useState(0);
  const [loaded, setLoaded] = useState(false);

  // xterm itself, once per component.
  useEffect(() => {
    let disposed = false;
    let observer: ResizeObserver | null = null;
    void loadXterm().then(({ Terminal, FitAddon }) => {
      if (disposed || !host.current) return;
      const t = new Terminal({
        cursorBlink: true,
        fontFamily: TERMINAL_FONT,
        fontSize: 13,
        scrollback: 5000,
        theme: consoleTerminalTheme(),
        allowProposedApi: false,
      });
      const f = new FitAddon();
      t.loadAddon(f);
      t.open(host.current);
      // Ctrl+Shift+C / Ctrl+Shift+V (Cmd on macOS works through the browser's own copy/paste).
      t.attachCustomKeyEventHandler((e) => {
        if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
        if (e.code === 'KeyC' && t.hasSelection()) {
          void navigator.clipboard?.writeText(t.getSelection());
          return false;
        }
        if (e.code === 'KeyV') {
          void navigator.clipboard?.readText().then((text) => t.paste(text));
          return false;
        }
        return true;
      });
      term.current = t;
      fit.current = f;
      safeFit(f);
      observer = new ResizeObserver(() => safeFit(f));
      observer.observe(host.current);
      setLoaded(true);
    });
    return () => {
      disposed = true;
      observer?.disconnect();
      term.current?.dispose();
      term.current = null;
    };
  }, []);

  // Fit again when the tab becomes visible (a hidden container measures 0×0).
  useEffect(() => {
    if (visible && fit.current) {
      safeFit(fit.current);
      term.current?.focus();
    }
  }, [visible, loaded]);

  // One connection per attempt (Reconnect asks for a new ticket).
  useEffect(() => {
    const t = term.current;
    if (!loaded || !t) return;
    let closed = false;
    // The server's own words (an `ended` or `error` message) stay on screen when the socket closes.
    let explained = false;
    let ws: WebSocket | null = null;
    const acks = new AckCounter();
    let ackTimer: ReturnType<typeof setTimeout> | undefined;
    let ping: ReturnType<typeof setInterval> | undefined;
    const encoder = new TextEncoder();
    const send = (message: TerminalClientMessage) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
    };
    const sendAck = (bytes: number) => {
      // One ack may return at most the whole window.
      for (let left = bytes; left > 0; left -= TERMINAL_WINDOW_BYTES) send({ type: 'ack', bytes: Math.min(left, TERMINAL_WINDOW_BYTES) });
    };
    setState({ kind: 'connecting' });
    const dataSub = t.onData((data) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(encoder.encode(data));
    });
    const binarySub = t.onBinary((data) => {
      if (ws?.readyState !== WebSocket.OPEN) return;
      const bytes = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
      ws.send(bytes);
    });
    const resizeSub = t.onResize(({ cols, rows }) =>
      send({ type: 'resize', cols: clamp(cols, 2, TERMINAL_MAX_COLS), rows: clamp(rows, 1, TERMINAL_MAX_ROWS) }),
    );

    const onControl = (message: TerminalServerMessage) => {
      if (message.type === 'ready') {
        setState({ kind: 'connected', ready: message });
        t.focus();
      } else if (message.type === 'error') {
        explained = true;
        setState({ kind: 'error', title: `Error ${message.code}`, message: message.message });
        t.write(`\r\n\x1b[31m${message.message}\x1b[0m\r\n`);
      } else if (message.type === 'ended') {
        explained = true;
        const why = END_REASON_TEXT[message.reason] ?? message.reason;
        const exit = message.exitCode !== null ? ` (exit code ${message.exitCode})` : '';
        setState({ kind: 'ended', title: `Ended: ${why}${exit}`, message: message.message });
      }
    };

    void (async () => {
      try {
        const ticket = await api(`devices/${deviceId}/terminal-sessions`, {
          method: 'POST',
          body: { cols: clamp(t.cols, 2, TERMINAL_MAX_COLS), rows: clamp(t.rows, 1, TERMINAL_MAX_ROWS), target },
          schema: TerminalTicketSchema,
        });
        if (closed) return;
        const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
        ws = new WebSocket(`${scheme}://${location.host}${ticket.websocketPath}?ticket=${encodeURIComponent(ticket.ticket)}`);
        ws.binaryType = 'arraybuffer';
        socket.current = ws;
        ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
          if (typeof event.data === 'string') {
            let json: unknown;
            try {
              json = JSON.parse(event.data);
            } catch {
              return;
            }
            const parsed = TerminalServerMessageSchema.safeParse(json);
            if (parsed.success) onControl(parsed.data);
            return;
          }
          const chunk = new Uint8Array(event.data);
          t.write(chunk, () => {
            sendAck(acks.rendered(chunk.length));
            clearTimeout(ackTimer);
            ackTimer = setTimeout(() => sendAck(acks.take()), ACK_IDLE_MS);
          });
        };
        ws.onopen = () => {
          ping = setInterval(() => send({ type: 'ping' }), PING_MS);
        };
        ws.onclose = (event) => {
          clearInterval(ping);
          if (closed || explained) return;
          const text = closeText(event.code, event.reason);
          setState({ kind: event.code === TerminalCloseCode.Ended ? 'ended' : 'error', ...text });
        };
      } catch (error) {
        if (closed) return;
        const p = problemOf(error);
        setState({ kind: 'error', title: p.title, message: `${p.detail} (${p.code})` });
      }
    })();

    return () => {
      closed = true;
      clearTimeout(ackTimer);
      clearInterval(ping);
      dataSub.dispose();
      binarySub.dispose();
      resizeSub.dispose();
      ws?.close(1000, 'closed by the operator');
    };
  }, [deviceId, attempt, loaded, target]);

  const reconnect = useCallback(() => {
    term.current?.reset();
    setAttempt((a) => a + 1);
  }, []);

  return (
    <div className={styles.session} data-testid="terminal-session" data-state={state.kind} hidden={!visible}>
      <div className={styles.status} role="status" aria-live="polite" data-testid="terminal-status">
        {state.kind === 'connecting' && <span>Connecting to {deviceName}…</span>}
        {state.kind === 'connected' && (
          <span>
            <span className={styles.ok}>●</span> Connected to <strong>{state.ready.deviceName}</strong>
            {state.ready.target === 'recovery' ? ' (recovery stick) as root' : ' as xspectre-ops'} · host key{' '}
            <code
              title={
                state.ready.target === 'recovery'
                  ? 'the host key the stick registered for this boot'
                  : 'the pinned SSH host key of the device'
              }
            >
              {state.ready.hostKeyFingerprint}
            </code>
            {state.ready.recordingInput ? ' · recorded (output and input)' : ' · recorded (output)'}
          </span>
        )}
        {(state.kind === 'ended' || state.kind === 'error') && (
          <span className={state.kind === 'error' ? styles.bad : undefined}>
            <strong>{state.title}</strong>
            {state.message ? `: ${state.message}` : ''}
          </span>
        )}
        {(state.kind === 'ended' || state.kind === 'error') && (
          <Button size="small" onClick={reconnect}>
            Reconnect
          </Button>
        )}
      </div>
      <div className={styles.screen} ref={host} data-testid="terminal-screen" />
    </div>
  );
}

function safeFit(f: FitAddon) {
  try {
    const size = f.proposeDimensions();
    if (size && Number.isFinite(size.cols) && size.cols > 0 && size.rows > 0) f.fit();
  } catch {
    /* not attached yet or hidden */
  }
}
