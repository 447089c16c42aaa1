import { ProblemSchema, canMutateResource, type OrganizationKind, type RemoteFileEntry, type Role } from '@xspectre/contracts';
import { API_BASE, ApiError, readCookie, refreshSession, withQuery } from './api-client';

/**
 * Pure parts of the terminal, the file manager and the recording player (issue 14): who may open
 * them, paths and modes as the operator reads them, the asciicast parser, acks and uploads.
 */

/** Why the operator may not open a terminal or files on this device, or null when they may. */
export function remoteAccessRefusal(
  role: Role,
  canManage: boolean,
  ownerKind: OrganizationKind | undefined,
  device: { status: string; quarantine: unknown },
): string | null {
  if (!canManage) return 'Your role cannot open terminals or files: it needs the devices.manage permission.';
  if (ownerKind === undefined) return 'Loading the device owner…';
  if (!canMutateResource(role, ownerKind))
    return 'This device is internal infrastructure: only Super Admins open terminals and files on it.';
  if (device.quarantine) return 'The device is quarantined: terminals and files stay closed until a Super Admin accepts the new hardware.';
  if (device.status !== 'active') return `The device is ${device.status}: terminals and files need an active device.`;
  return null;
}

/** Why the operator may not open a recovery shell (root on the device's booted recovery stick), or null when they may. */
export function recoveryShellRefusal(
  role: Role,
  device: { status: string; quarantine: unknown },
  recoveryMode: { shellHostKeyFingerprint?: string | null } | null,
  loaded: boolean,
): string | null {
  if (role !== 'super_admin') return 'A recovery shell is a root shell on the recovery system: only Super Admins open it.';
  if (device.quarantine) return 'The device is quarantined: a Super Admin accepts the new hardware first.';
  if (device.status !== 'active') return `The device is ${device.status}: a recovery shell needs an active device.`;
  if (!loaded) return 'Loading the recovery stick…';
  if (!recoveryMode) return 'The device is not in RECOVERY MODE: boot it from its recovery stick first (Recovery tab).';
  if (!recoveryMode.shellHostKeyFingerprint)
    return 'The recovery stick registered no shell in this boot (its image has no OpenSSH server): rebuild and reflash it.';
  return null;
}

/** `rwxr-xr-x` of permission bits (setuid, setgid and sticky shown as ls does). */
export function modeString(mode: number, type: RemoteFileEntry['type'] = 'file'): string {
  const kind = type === 'directory' ? 'd' : type === 'symlink' ? 'l' : type === 'other' ? '?' : '-';
  const triple = (bits: number, special: boolean, specialChar: string) => {
    const x = (bits & 1) !== 0;
    const exec = special ? (x ? specialChar : specialChar.toUpperCase()) : x ? 'x' : '-';
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${exec}`;
  };
  return (
    kind +
    triple((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') +
    triple((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') +
    triple(mode & 7, (mode & 0o1000) !== 0, 't')
  );
}

export function modeOctal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Octal text (`644`, `0755`) to bits, or null when it is not a mode. */
export function parseMode(text: string): number | null {
  const t = text.trim();
  if (!/^[0-7]{3,4}$/.test(t)) return null;
  return parseInt(t, 8);
}

/** `/a/b` + `c` → `/a/b/c`; `/` + `c` → `/c`. */
export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function parentOf(path: string): string {
  if (path === '/') return '/';
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

/** The breadcrumbs of a path: `/`, `/etc`, `/etc/ssh` with their labels. */
export function breadcrumbs(path: string): Array<{ label: string; path: string }> {
  const crumbs = [{ label: '/', path: '/' }];
  let at = '';
  for (const segment of path.split('/').filter(Boolean)) {
    at += `/${segment}`;
    crumbs.push({ label: segment, path: at });
  }
  return crumbs;
}

/** A single name for mkdir/rename/upload: not empty, no slash, no `.`/`..`, no control characters (the API checks again). */
export function nameProblem(name: string): string | null {
  if (name === '') return 'Give a name.';
  if (name === '.' || name === '..') return 'A name cannot be "." or "..".';
  if (name.includes('/')) return 'A name cannot contain "/".';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'A name cannot contain control characters (NUL, newline, …).';
  if (new TextEncoder().encode(name).length > 255) return 'A name is at most 255 bytes.';
  return null;
}

export function downloadHref(deviceId: string, path: string): string {
  return API_BASE + withQuery(`devices/${deviceId}/files/download`, { path });
}

export function recordingHref(sessionId: string): string {
  return `${API_BASE}remote-sessions/${sessionId}/recording`;
}

/** Human duration of a session: `1 h 02 m`, `3 m 05 s`, `12 s`. */
export function duration(fromIso: string, toIso: string | null, now: number): string {
  const end = toIso ? Date.parse(toIso) : now;
  const s = Math.max(0, Math.round((end - Date.parse(fromIso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
}

export const END_REASON_TEXT: Record<string, string> = {
  closed: 'closed',
  device_disconnected: 'the device dropped the connection',
  idle_timeout: 'idle timeout',
  max_duration: 'maximum duration reached',
  access_revoked: 'access revoked',
  server_shutdown: 'the server shut down',
  error: 'error',
};

// ---------------------------------------------------------------------------------------------
// Asciicast v2

export interface Asciicast {
  width: number;
  height: number;
  /** Output and resize events in time order (input is not replayed: the output already shows its echo). */
  events: Array<{ time: number; kind: 'o' | 'r'; data: string }>;
  duration: number;
}

/** Parses an asciicast v2 file (header line, then `[seconds, code, text]` lines); unknown lines are skipped. */
export function parseAsciicast(text: string): Asciicast {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error('The recording is empty.');
  const header = JSON.parse(lines[0]!) as { version?: number; width?: number; height?: number };
  if (header.version !== 2) throw new Error('The recording is not asciicast v2.');
  const events: Asciicast['events'] = [];
  for (const line of lines.slice(1)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue; // a line cut short when the session ended abruptly
    }
    if (!Array.isArray(parsed) || parsed.length < 3) continue;
    const [time, kind, data] = parsed as [unknown, unknown, unknown];
    if (typeof time !== 'number' || typeof data !== 'string') continue;
    if (kind === 'o' || kind === 'r') events.push({ time, kind, data });
  }
  events.sort((a, b) => a.time - b.time);
  return { width: header.width ?? 80, height: header.height ?? 24, events, duration: events.at(-1)?.time ?? 0 };
}

/** `120x40` of a resize event. */
export function parseResize(data: string): { cols: number; rows: number } | null {
  const m = /^(\d+)x(\d+)$/.exec(data);
  return m ? { cols: Number(m[1]), rows: Number(m[2]) } : null;
}

// ---------------------------------------------------------------------------------------------
// Terminal flow control

/** Acks once this much output was rendered, or when output goes quiet. */
export const ACK_BATCH_BYTES = 64 * 1024;

/** Counts rendered bytes and says when to send `{type:'ack'}` (the server pauses after its window). */
export class AckCounter {
  private pending = 0;
  constructor(private readonly batch = ACK_BATCH_BYTES) {}
  /** Adds rendered bytes; returns the bytes to ack now, or 0 to wait for more. */
  rendered(bytes: number): number {
    this.pending += bytes;
    return this.pending >= this.batch ? this.take() : 0;
  }
  /** What is pending (on idle). */
  take(): number {
    const n = this.pending;
    this.pending = 0;
    return n;
  }
}

// ---------------------------------------------------------------------------------------------
// Upload with progress (fetch has no upload progress)

export interface UploadHandle {
  done: Promise<unknown>;
  abort: () => void;
}

/**
 * PUTs the raw file to the streaming upload route with the CSRF header; rejects with the
 * problem+json as an ApiError. A stale access token is refreshed once and the file sent again.
 */
export function uploadFile(
  deviceId: string,
  path: string,
  file: Blob,
  overwrite: boolean,
  onProgress: (sent: number) => void,
): UploadHandle {
  let current: XMLHttpRequest | null = null;
  let aborted = false;
  const done = (async () => {
    try {
      return await sendOnce(deviceId, path, file, overwrite, onProgress, (xhr) => (current = xhr));
    } catch (error) {
      const stale =
        error instanceof ApiError && error.status === 401 && (error.code === 'AUTH_REQUIRED' || error.code === 'AUTH_TOKEN_INVALID');
      if (!stale || aborted || !(await refreshSession())) throw error;
      onProgress(0);
      return sendOnce(deviceId, path, file, overwrite, onProgress, (xhr) => (current = xhr));
    }
  })();
  return {
    done,
    abort: () => {
      aborted = true;
      current?.abort();
    },
  };
}

function sendOnce(
  deviceId: string,
  path: string,
  file: Blob,
  overwrite: boolean,
  onProgress: (sent: number) => void,
  started: (xhr: XMLHttpRequest) => void,
): Promise<unknown> {
  const xhr = new XMLHttpRequest();
  started(xhr);
  return new Promise<unknown>((resolve, reject) => {
    xhr.open('PUT', API_BASE + withQuery(`devices/${deviceId}/files/upload`, { path, overwrite: String(overwrite) }));
    xhr.withCredentials = true;
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('x-csrf-token', readCookie('xs_csrf') ?? '');
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null; // not JSON: a proxy's error page
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
      const problem = ProblemSchema.safeParse(body);
      reject(
        new ApiError(
          xhr.status,
          problem.success
            ? problem.data
            : {
                type: 'about:blank',
                title: 'Upload failed',
                status: xhr.status,
                detail: xhr.responseText.slice(0, 300) || `HTTP ${xhr.status}`,
                code: `HTTP_${xhr.status}`,
              },
        ),
      );
    };
    xhr.onerror = () => reject(new Error('The upload could not reach the API.'));
    xhr.onabort = () => reject(new Error('Upload cancelled.'));
    xhr.send(file);
  });
}
