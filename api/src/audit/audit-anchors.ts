import { createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { keyId, keyringOf, keysFor } from '../common/crypto/keyring.js';

/** A signed record, outside the database, of the chain's head at one moment. */
export interface AuditAnchor {
  database: string;
  id: string;
  hash: string;
  at: string;
}

const FILE = 'audit-anchors.jsonl';
/** The newest checkpoint is near the end: only this much of the file is read. */
const TAIL_BYTES = 64 * 1024;

/**
 * Checkpoints of the audit chain (head id and hash), appended as HMAC-signed JSON lines to
 * API_AUDIT_ANCHOR_DIR: a file the database role cannot reach, so deleting the newest rows
 * (which leaves an intact but shorter chain) no longer goes unnoticed. The key is derived from
 * API_SECRET_KEY for this purpose only (api/src/common/crypto/secrets.ts).
 */
@Injectable()
export class AuditAnchors {
  private readonly key: Buffer;
  /** This key's id, written on every line, so a line names the key that signed it. */
  private readonly kid: string;
  /**
   * The keys a line or a verification result may be signed with: the current one, then
   * API_SECRET_KEY_PREVIOUS's during a rotation. Once PREVIOUS is dropped, lines signed with it
   * no longer verify: the re-seal step (api/src/audit/sealed-fields-resealer.ts) writes a
   * checkpoint with the current key first, so the newest valid one is never lost.
   */
  private readonly keysById: Map<string, Buffer>;
  readonly file: string;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const ring = keyringOf(config);
    this.key = ring.current.auditAnchorHmac;
    this.kid = keyId(this.key);
    this.keysById = new Map(keysFor(ring, 'auditAnchorHmac').map((key) => [keyId(key), key]));
    this.file = resolve(config.API_AUDIT_ANCHOR_DIR, FILE);
  }

  private mac(anchor: AuditAnchor, key = this.key): string {
    return createHmac('sha256', key).update(['v1', anchor.database, anchor.id, anchor.hash, anchor.at].join('\n')).digest('hex');
  }

  /**
   * A MAC over a verification result (audit_verifications.mac), with the same key under its own
   * prefix, so a row inserted with database access alone cannot move the verified starting point.
   */
  macOfVerification(fields: ReadonlyArray<string | number | boolean | null>, key = this.key): string {
    return createHmac('sha256', key)
      .update(['verification-v1', ...fields.map((f) => (f === null ? '' : String(f)))].join('\n'))
      .digest('hex');
  }

  verificationMacMatches(fields: ReadonlyArray<string | number | boolean | null>, mac: string): boolean {
    const given = Buffer.from(mac, 'hex');
    return [...this.keysById.values()].some((key) => {
      const expected = Buffer.from(this.macOfVerification(fields, key), 'hex');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  }

  /** Appends one signed line (O_APPEND: concurrent writers never interleave a short line). */
  async append(anchor: AuditAnchor): Promise<string> {
    await mkdir(resolve(this.config.API_AUDIT_ANCHOR_DIR), { recursive: true, mode: 0o700 });
    const line = JSON.stringify({ v: 1, ...anchor, kid: this.kid, mac: this.mac(anchor) });
    await appendFile(this.file, `${line}\n`, { mode: 0o600, flag: 'a' });
    return line;
  }

  /** The newest correctly signed checkpoint of `database`, or null (no file yet, or none valid). */
  async newest(database: string): Promise<AuditAnchor | null> {
    let text: string;
    try {
      const handle = await open(this.file, 'r');
      try {
        const { size } = await handle.stat();
        const start = Math.max(0, size - TAIL_BYTES);
        const buffer = Buffer.alloc(size - start);
        await handle.read(buffer, 0, buffer.length, start);
        text = buffer.toString('utf8');
        // The first line of a tail read is usually cut: skip it.
        if (start > 0) text = text.slice(text.indexOf('\n') + 1);
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const lines = text.split('\n').filter(Boolean);
    for (let i = lines.length - 1; i >= 0; i--) {
      const anchor = this.parse(lines[i]!);
      if (anchor && anchor.database === database) return anchor;
    }
    return null;
  }

  private parse(line: string): AuditAnchor | null {
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return null;
    }
    const { database, id, hash, at, mac, kid } = value;
    if (typeof database !== 'string' || typeof id !== 'string' || typeof hash !== 'string' || typeof at !== 'string') return null;
    if (typeof mac !== 'string' || !/^\d+$/.test(id)) return null;
    const anchor = { database, id, hash, at };
    // Lines written before key ids existed name no key: every known key is tried.
    const keys = typeof kid === 'string' ? [this.keysById.get(kid)].filter((k) => k !== undefined) : [...this.keysById.values()];
    const given = Buffer.from(mac, 'hex');
    return keys.some((key) => {
      const expected = Buffer.from(this.mac(anchor, key), 'hex');
      return given.length === expected.length && timingSafeEqual(given, expected);
    })
      ? anchor
      : null;
  }
}
