/**
 * What a request to the front addresses in restic's REST protocol (v1 and v2 share paths):
 * `/<device>/` (create with `?create=true`), `/<device>/config`, `/<device>/<type>/` (list) and
 * `/<device>/<type>/<id>`. Anything else is refused before it reaches rclone: the paths restic
 * uses are lower-case UUIDs and 64 hex digits, so no decoding or normalisation is needed and
 * no `..`, `%2e` or second slash can slip through.
 */
export const REPO_FILE_TYPES = ['data', 'keys', 'locks', 'snapshots', 'index'] as const;
export type RepoFileType = (typeof REPO_FILE_TYPES)[number];

export type RepoTarget =
  | { kind: 'repo'; device: string; create: boolean }
  | { kind: 'config'; device: string }
  | { kind: 'list'; device: string; type: RepoFileType }
  | { kind: 'file'; device: string; type: RepoFileType; id: string };

export type TargetParse = { ok: true; target: RepoTarget } | { ok: false; status: 400 | 404; message: string };

/** Longer than any path restic sends (36 + 1 + 9 + 1 + 64 + a query). */
export const MAX_URL_LENGTH = 256;

export const DEVICE_ID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
export const DEVICE_ID = new RegExp(`^${DEVICE_ID_PATTERN}$`);
const TYPES = REPO_FILE_TYPES.join('|');
const PATH = new RegExp(`^/(${DEVICE_ID_PATTERN})/(?:(config)|(${TYPES})/([0-9a-f]{64})?)?$`);

export function parseRequestTarget(url: string | undefined): TargetParse {
  if (!url || url.length > MAX_URL_LENGTH) return { ok: false, status: 400, message: 'bad request path' };
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt + 1);
  const match = PATH.exec(path);
  if (!match) return { ok: false, status: 404, message: 'not a restic repository path: /<device id>/…' };
  const [, device, config, type, id] = match as unknown as [string, string, string?, RepoFileType?, string?];

  if (!config && !type) {
    if (query !== '' && query !== 'create=true') return { ok: false, status: 400, message: 'the only query is create=true' };
    return { ok: true, target: { kind: 'repo', device, create: query === 'create=true' } };
  }
  if (query !== '') return { ok: false, status: 400, message: 'no query allowed here' };
  if (config) return { ok: true, target: { kind: 'config', device } };
  if (!id) return { ok: true, target: { kind: 'list', device, type: type! } };
  return { ok: true, target: { kind: 'file', device, type: type!, id } };
}
