import type { BackupTokenOp } from '@xspectre/contracts';
import type { RepoTarget } from './request-target.js';

/**
 * Which operation class may do what (issue 15). The front decides by method and path only;
 * the `append-only` rclone instance behind it additionally refuses to overwrite an existing
 * file, which the front cannot see. append and read tokens always go to that instance, so even
 * a mistake here cannot delete through them.
 * - append: GET/HEAD; POST to create the repository, write config and new files; DELETE only
 *   its own lock files (restic removes its lock at the end of a backup).
 * - read: GET/HEAD; POST/DELETE only under locks/ (a restore takes a non-exclusive lock).
 * - prune: everything (forget, prune, rebuild-index, unlock).
 */
export type Upstream = 'append-only' | 'full';

export type AccessDecision = { allowed: true; upstream: Upstream } | { allowed: false; status: 403 | 405; message: string };

const upstreamFor = (op: BackupTokenOp): Upstream => (op === 'prune' ? 'full' : 'append-only');

export function decideAccess(op: BackupTokenOp, method: string, target: RepoTarget): AccessDecision {
  const allow: AccessDecision = { allowed: true, upstream: upstreamFor(op) };
  const forbid = (message: string): AccessDecision => ({ allowed: false, status: 403, message });
  const isLock = target.kind === 'file' && target.type === 'locks';

  switch (method) {
    case 'GET':
    case 'HEAD':
      return allow;
    case 'POST':
      if (target.kind === 'list') return { allowed: false, status: 405, message: 'POST to a directory' };
      if (target.kind === 'repo' && !target.create)
        return { allowed: false, status: 405, message: 'POST to the repository needs ?create=true' };
      if (op === 'read' && !isLock) return forbid('a read token writes only lock files');
      return allow;
    case 'DELETE':
      if (target.kind !== 'file') return { allowed: false, status: 405, message: 'DELETE of a directory or the config' };
      if (op !== 'prune' && !isLock) return forbid(`an ${op} token deletes only lock files`);
      return allow;
    default:
      return { allowed: false, status: 405, message: `method ${method.slice(0, 16)} not allowed` };
  }
}
