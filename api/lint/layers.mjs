// The layering of api/src's folders, and the one function that judges a relative import against
// it. Shared by the ESLint rule (feature-boundaries.mjs) and the counter (count-upward-imports.mjs)
// so that both always agree.
import path from 'node:path';

/**
 * Folder (first path segment under api/src) -> layer, lowest first. A folder imports only from
 * folders on a strictly lower layer: never sideways (same layer), never upward.
 *
 * To add a feature: put its folder on the layer just above the highest folder it imports from
 * (add a new layer number if none fits). If something below needs to call it, it belongs lower.
 */
export const LAYERS = {
  // Platform: no feature knowledge.
  config: 0,
  common: 1,
  db: 2,
  redis: 2,
  openapi: 2,
  // Features.
  audit: 3,
  settings: 3,
  keys: 3,
  // The script library: commands (9) asks it for what a script run signs.
  scripts: 3,
  // The agent builds served for agent.update: commands (9) asks it what an update signs.
  'agent-builds': 3,
  auth: 4,
  // The SSH user certificate authority (key store purpose ssh-user-ca) and certificate login for
  // ssh2: enrollment (10) hands devices its public key, remote-access (10) signs sessions with it.
  ssh: 4,
  users: 5,
  // Single sign-on: identity providers and the browser flows; accounts and sessions through auth (4).
  sso: 5,
  live: 5,
  organizations: 6,
  'device-events': 7,
  hub: 7,
  devices: 8,
  inventory: 9,
  telemetry: 9,
  commands: 9,
  // Alert targets and the delivery queue: the engine (alerts) hands it each alert's messages.
  'alert-delivery': 9,
  // The alert engine: reads telemetry, devices and their events; ingest hands it heartbeats.
  alerts: 10,
  enrollment: 10,
  // Scanner operations: scanners' GMP reports (ingest hands it the committed heartbeats); the
  // alert engine (10) judges the scanner checks from them.
  scanners: 9,
  // Recovery media and the recovery stick as an agent (hub peers, devices, commands' recovery audience);
  // ingest (11) tells it when a device's own agent is back.
  recovery: 10,
  // File backups: policies, runs and repository tokens (devices, organizations, keys; commands next).
  backups: 10,
  // Scanner actions through the command queue: report summaries, feed update schedules' runs (scanners, commands).
  'scanner-ops': 10,
  ingest: 11,
  // Terminal and file sessions over SSH (devices, inventory's host keys, live's upgrade router, ssh's
  // CA; recovery's RECOVERY MODE for recovery shells).
  'remote-access': 11,
  // Full-disk images: the catalog, image tokens (backups' token service) and the take / restore
  // jobs through the recovery stick (recovery, commands, devices).
  'disk-images': 11,
  health: 12,
  'request-pipeline': 12,
  // Prometheus metrics (API and worker): reads ingest, devices, hub and live through their services.
  metrics: 12,
  worker: 12,
};

export const PLATFORM_FOLDERS = new Set(['config', 'common', 'db', 'redis', 'openapi']);

const SRC_SEGMENT = '/api/src/';
const TABLE = 'api/lint/layers.mjs';
// Repositories and entities are a feature's storage: other folders go through its service.
const STORAGE_FILE = /\.(repository|entity)\.(js|ts)$/;

/** The path relative to api/src ('devices/x.ts'), or null when the file is not under api/src. */
export function srcRelative(filename) {
  const posix = '/' + filename.replaceAll('\\', '/');
  const at = posix.lastIndexOf(SRC_SEGMENT);
  return at === -1 ? null : posix.slice(at + SRC_SEGMENT.length);
}

/** First segment of an api/src-relative path; null for files directly in api/src. */
function folderOf(rel) {
  const slash = rel.indexOf('/');
  return slash === -1 ? null : rel.slice(0, slash);
}

/**
 * Judges one import. `filename` is the importing file (any checkout location, it only needs an
 * `api/src/` segment); `specifier` is the import string as written.
 * Returns null when allowed, else { rule, from, to, message }.
 */
export function classifyImport(filename, specifier) {
  const rel = srcRelative(filename);
  if (rel === null) return null;
  // Bare packages ('@nestjs/common', 'node:crypto') are not folders of api/src.
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return null;
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), specifier));
  if (target.startsWith('../')) return null; // leaves api/src, e.g. '../../package.json'

  const from = folderOf(rel);
  const to = folderOf(target);
  if (from === to) return null;
  const violation = (rule, message) => ({ rule, from: from ?? '(api/src root)', to, message });

  // Rule 2 first: without a layer the other rules cannot judge.
  for (const folder of [from, to]) {
    if (folder !== null && !(folder in LAYERS)) {
      return violation(
        'unknown-folder',
        `[unknown-folder] ${from ?? 'api/src root'} -> ${to ?? 'api/src root'}: folder '${folder}' is not in the layer table; ` +
          `add it to LAYERS in ${TABLE}, on the layer above everything it imports.`,
      );
    }
  }
  // Files directly in api/src (app.module.ts, main.ts, ...) wire everything together: unrestricted.
  // Files directly in api/src imported from a folder (version.ts) are not a folder either: no layer.
  if (from === null || to === null) return null;

  if (LAYERS[to] >= LAYERS[from]) {
    const kind = LAYERS[to] === LAYERS[from] ? 'sideways' : 'upward';
    return violation(
      'layers',
      `[layers] ${from} (layer ${LAYERS[from]}) -> ${to} (layer ${LAYERS[to]}): ${kind} import; ` +
        `a folder imports only from lower layers. Move the shared code down to a lower folder, ` +
        `or invert the call (the higher folder calls the lower one); see ${TABLE}.`,
    );
  }
  if (STORAGE_FILE.test(path.posix.basename(target))) {
    return violation(
      'storage',
      `[storage] ${from} -> ${to}: '${path.posix.basename(target)}' is a repository/entity of ${to}; ` +
        `import the feature's service instead.`,
    );
  }
  return null;
}
