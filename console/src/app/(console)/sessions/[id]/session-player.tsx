'use client';

import '@xterm/xterm/css/xterm.css';
import { RemoteSessionSchema } from '@xspectre/contracts';
import type { Terminal } from '@xterm/xterm';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useCallback, useEffect, useRef, useState } from 'react';
import { PageHeader } from '../../../../components/page-header';
import { Button, Forbidden, KeyValues, Loading, ProblemView } from '../../../../components/ui';
import { TERMINAL_FONT, consoleTerminalTheme, loadXterm } from '../../../../components/xterm-loader';
import { ApiError, api, refreshSession } from '../../../../lib/api-client';
import { bytes, dateTime } from '../../../../lib/format';
import { END_REASON_TEXT, duration, parseAsciicast, parseResize, recordingHref, type Asciicast } from '../../../../lib/remote-access';
import { useSession } from '../../../../lib/session';
import { useResource } from '../../../../lib/use-api';
import styles from './session-player.module.css';

const SPEEDS = [0.5, 1, 2, 4] as const;
const TICK_MS = 33;

async function loadRecording(id: string, signal: AbortSignal): Promise<Asciicast> {
  const read = () => fetch(recordingHref(id), { credentials: 'same-origin', signal, cache: 'no-store' });
  let response = await read();
  // A stale access token: one shared refresh, then once more (as the API client does).
  if (response.status === 401 && (await refreshSession())) response = await read();
  const text = await response.text();
  if (!response.ok) {
    let problem;
    try {
      problem = JSON.parse(text) as ConstructorParameters<typeof ApiError>[1];
    } catch {
      problem = {
        type: 'about:blank',
        title: 'The recording could not be read',
        status: response.status,
        detail: text.slice(0, 300),
        code: `HTTP_${response.status}`,
      };
    }
    throw new ApiError(response.status, problem);
  }
  return parseAsciicast(text);
}

const clock = (s: number) => `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, '0')}`;

/**
 * Replays a terminal recording (asciicast v2) in a read-only xterm: play/pause, seek (replays from
 * the start up to the point at once), speed, download. Only output and resizes are replayed.
 */
export function SessionPlayer() {
  const { id } = useParams<{ id: string }>();
  const { can } = useSession();
  const allowed = can('audit.view');
  const session = useResource(allowed ? `remote-session:${id}` : null, (signal) =>
    api(`remote-sessions/${id}`, { schema: RemoteSessionSchema, signal }),
  );
  const cast = useResource(allowed ? `recording:${id}` : null, (signal) => loadRecording(id, signal));
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const next = useRef(0); // the index of the next event to write
  const at = useRef(0); // seconds into the recording
  const [position, setPosition] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState<number>(1);
  const [ready, setReady] = useState(false);
  const data = cast.data;

  useEffect(() => {
    if (!data) return;
    let disposed = false;
    void loadXterm().then(({ Terminal }) => {
      if (disposed || !host.current) return;
      const t = new Terminal({
        cols: data.width,
        rows: data.height,
        disableStdin: true,
        cursorBlink: false,
        fontFamily: TERMINAL_FONT,
        fontSize: 13,
        scrollback: 5000,
        theme: consoleTerminalTheme(),
      });
      t.open(host.current);
      term.current = t;
      setReady(true);
    });
    return () => {
      disposed = true;
      term.current?.dispose();
      term.current = null;
    };
  }, [data]);

  /** Writes every event up to `until` seconds. */
  const advance = useCallback(
    (until: number) => {
      const t = term.current;
      if (!t || !data) return;
      let chunk = '';
      while (next.current < data.events.length && data.events[next.current]!.time <= until) {
        const e = data.events[next.current++]!;
        if (e.kind === 'o') chunk += e.data;
        else {
          const size = parseResize(e.data);
          if (size) {
            if (chunk) t.write(chunk);
            chunk = '';
            t.resize(size.cols, size.rows);
          }
        }
      }
      if (chunk) t.write(chunk);
      at.current = until;
      setPosition(until);
    },
    [data],
  );

  const seek = useCallback(
    (to: number) => {
      const t = term.current;
      if (!t || !data) return;
      t.reset();
      t.resize(data.width, data.height);
      next.current = 0;
      advance(to);
    },
    [advance, data],
  );

  useEffect(() => {
    if (!playing || !data) return;
    let last = performance.now();
    const timer = setInterval(() => {
      const nowMs = performance.now();
      const until = Math.min(data.duration, at.current + ((nowMs - last) / 1000) * speed);
      last = nowMs;
      advance(until);
      if (until >= data.duration) setPlaying(false);
    }, TICK_MS);
    return () => clearInterval(timer);
  }, [playing, speed, data, advance]);

  if (!allowed) return <Forbidden permission="audit.view" what="replay terminal recordings" />;
  const s = session.data;
  return (
    <>
      <PageHeader
        title={`Recording${s?.deviceName ? ` of ${s.deviceName}` : ''}`}
        subtitle={
          <>
            <Link href={s ? `/sessions?deviceId=${s.deviceId}` : '/sessions'}>← Remote sessions</Link>
          </>
        }
        actions={
          <a href={recordingHref(id)} download={`session-${id}.cast`} data-testid="recording-download">
            Download (.cast)
          </a>
        }
      />
      {session.error ? <ProblemView error={session.error} /> : null}
      {s && (
        <KeyValues
          rows={[
            ['Operator', s.userEmail ?? s.userId],
            ['Opened', dateTime(s.openedAt)],
            ['Closed', s.closedAt ? `${dateTime(s.closedAt)} (${duration(s.openedAt, s.closedAt, Date.now())})` : 'still open'],
            ['End', s.endReason ? (END_REASON_TEXT[s.endReason] ?? s.endReason) : '—'],
            ['Certificate key id', <code key="k">{s.certificateKeyId}</code>],
            [
              'Recording',
              s.recording ? (
                <span key="r">
                  {bytes(s.recording.bytes)} · SHA-256 <code>{s.recording.sha256 ?? 'sealed when the session ends'}</code>
                  {s.recording.inputRecorded ? ' · input recorded' : ''}
                </span>
              ) : (
                'none'
              ),
            ],
          ]}
        />
      )}
      {cast.error ? <ProblemView error={cast.error} onRetry={cast.reload} /> : null}
      {!cast.data && !cast.error && <Loading label="Loading the recording…" />}
      {data && (
        <>
          <div className={styles.controls}>
            <Button
              variant="primary"
              disabled={!ready}
              data-testid="player-play"
              onClick={() => {
                if (!playing && at.current >= data.duration) seek(0);
                setPlaying(!playing);
              }}
            >
              {playing ? 'Pause' : 'Play'}
            </Button>
            <input
              className={styles.slider}
              type="range"
              min={0}
              max={data.duration || 0}
              step={0.05}
              value={position}
              aria-label="Position"
              data-testid="player-seek"
              onChange={(e) => seek(Number(e.target.value))}
            />
            <span className={styles.time} data-testid="player-time">
              {clock(position)} / {clock(data.duration)}
            </span>
            <label className={styles.time}>
              Speed{' '}
              <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))} aria-label="Speed">
                {SPEEDS.map((v) => (
                  <option key={v} value={v}>
                    {v}×
                  </option>
                ))}
              </select>
            </label>
          </div>
          <div className={styles.screen} ref={host} data-testid="player-screen" />
        </>
      )}
    </>
  );
}
