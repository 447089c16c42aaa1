import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/config.js';
import { deriveKeys } from '../common/crypto/secrets.js';
import { AuditAnchors } from './audit-anchors.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const anchor = { database: 'db', id: '7', hash: 'f'.repeat(64), at: '2026-01-01T00:00:00.000Z' };

describe('audit checkpoints across a secret rotation', () => {
  let dir: string;
  const anchors = (key: string, previous?: string) =>
    new AuditAnchors({ API_SECRET_KEY: key, API_SECRET_KEY_PREVIOUS: previous, API_AUDIT_ANCHOR_DIR: dir } as unknown as AppConfig);
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a checkpoint names its key; it verifies with that key as current or previous, not after the key is dropped', async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-anchors-'));
    await anchors(A).append(anchor);
    expect(JSON.parse(await readFile(join(dir, 'audit-anchors.jsonl'), 'utf8')).kid).toMatch(/^[0-9a-f]{16}$/);
    expect(await anchors(A).newest('db')).toEqual(anchor);
    expect(await anchors(B, A).newest('db')).toEqual(anchor);
    expect(await anchors(B).newest('db')).toBeNull();
    // Re-anchored with B: B alone finds it.
    const later = { ...anchor, id: '8', at: '2026-01-02T00:00:00.000Z' };
    await anchors(B, A).append(later);
    expect(await anchors(B).newest('db')).toEqual(later);
  });

  it('a line from before key ids (no kid) verifies with either key; a kid naming an unknown key is not tried with others', async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-anchors-'));
    const mac = createHmac('sha256', deriveKeys(A).auditAnchorHmac)
      .update(['v1', anchor.database, anchor.id, anchor.hash, anchor.at].join('\n'))
      .digest('hex');
    await writeFile(join(dir, 'audit-anchors.jsonl'), `${JSON.stringify({ v: 1, ...anchor, mac })}\n`);
    expect(await anchors(B, A).newest('db')).toEqual(anchor);
    expect(await anchors(B).newest('db')).toBeNull();
    await writeFile(join(dir, 'audit-anchors.jsonl'), `${JSON.stringify({ v: 1, ...anchor, kid: '0'.repeat(16), mac })}\n`);
    expect(await anchors(B, A).newest('db')).toBeNull();
  });

  it('verification results signed with the previous key verify during the rotation only', () => {
    const fields = ['2026-01-01T00:00:00.000Z', true, '1', '7', 'f'.repeat(64), 7, true, null, null];
    const mac = anchors(A).macOfVerification(fields);
    expect(anchors(B, A).verificationMacMatches(fields, mac)).toBe(true);
    expect(anchors(B).verificationMacMatches(fields, mac)).toBe(false);
    expect(anchors(B, A).verificationMacMatches(fields, anchors(B).macOfVerification(fields))).toBe(true);
  });
});
