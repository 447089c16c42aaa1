import { describe, expect, it } from 'vitest';
import { decideAccess } from './access-rules.js';
import type { RepoTarget } from './request-target.js';

const device = '6f1c1c52-4d7e-4a51-9a43-2f1f1bb1f001';
const id = 'b'.repeat(64);
const T = {
  create: { kind: 'repo', device, create: true },
  repo: { kind: 'repo', device, create: false },
  config: { kind: 'config', device },
  listData: { kind: 'list', device, type: 'data' },
  data: { kind: 'file', device, type: 'data', id },
  snapshot: { kind: 'file', device, type: 'snapshots', id },
  key: { kind: 'file', device, type: 'keys', id },
  lock: { kind: 'file', device, type: 'locks', id },
} satisfies Record<string, RepoTarget>;

const allowed = (op: 'append' | 'read' | 'prune', method: string, target: RepoTarget) => decideAccess(op, method, target).allowed;

describe('decideAccess', () => {
  it('append: reads, creates and writes new files, deletes only locks, always through the append-only instance', () => {
    for (const t of Object.values(T)) expect(decideAccess('append', 'GET', t)).toEqual({ allowed: true, upstream: 'append-only' });
    for (const t of [T.create, T.config, T.data, T.snapshot, T.key, T.lock]) expect(allowed('append', 'POST', t)).toBe(true);
    expect(allowed('append', 'DELETE', T.lock)).toBe(true);
    for (const t of [T.data, T.snapshot, T.key]) expect(decideAccess('append', 'DELETE', t)).toMatchObject({ allowed: false, status: 403 });
  });

  it('read: GET/HEAD plus its lock files', () => {
    expect(decideAccess('read', 'HEAD', T.config)).toEqual({ allowed: true, upstream: 'append-only' });
    expect(allowed('read', 'POST', T.lock)).toBe(true);
    expect(allowed('read', 'DELETE', T.lock)).toBe(true);
    for (const t of [T.create, T.config, T.data, T.snapshot, T.key]) expect(decideAccess('read', 'POST', t)).toMatchObject({ status: 403 });
    for (const t of [T.data, T.snapshot]) expect(decideAccess('read', 'DELETE', t)).toMatchObject({ status: 403 });
  });

  it('prune: everything, through the full instance', () => {
    for (const t of [T.data, T.snapshot, T.key, T.lock])
      expect(decideAccess('prune', 'DELETE', t)).toEqual({ allowed: true, upstream: 'full' });
    expect(decideAccess('prune', 'POST', T.data)).toEqual({ allowed: true, upstream: 'full' });
  });

  it('refuses methods and targets restic never uses, for every token', () => {
    for (const op of ['append', 'read', 'prune'] as const) {
      expect(decideAccess(op, 'PUT', T.data)).toMatchObject({ status: 405 });
      expect(decideAccess(op, 'PATCH', T.config)).toMatchObject({ status: 405 });
      expect(decideAccess(op, 'POST', T.listData)).toMatchObject({ status: 405 });
      expect(decideAccess(op, 'POST', T.repo)).toMatchObject({ status: 405 });
      expect(decideAccess(op, 'DELETE', T.config)).toMatchObject({ status: 405 });
      expect(decideAccess(op, 'DELETE', T.repo)).toMatchObject({ status: 405 });
    }
  });
});
