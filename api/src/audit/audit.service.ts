import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuditEvent, AuditVerifyResponse } from '@xspectre/contracts';
import { requestContext } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { AuditEventEntity } from './audit-event.entity.js';
import { GENESIS_HASH, chainHash, findChainBreak } from './audit-chain.js';
import { AUDIT_BOUNDS, boundDetails, cappedColumn } from './audit-bounds.js';
import { AuditRepository, type AuditFilter } from './audit.repository.js';
import { AuditAnchors, type AuditAnchor } from './audit-anchors.js';

export interface AuditInput {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  details?: Record<string, unknown>;
  result: 'success' | 'failure';
  errorMessage?: string | null;
  /** Defaults to the signed-in operator of the current request. */
  userId?: string | null;
  userEmail?: string | null;
  /** For the minimal fallback row: the error code alone, when the full row cannot be stored. */
  errorCode?: string;
}

const VERIFY_PAGE = 2000;

@Injectable()
export class AuditService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AuditService.name);

  constructor(
    private readonly repo: AuditRepository,
    private readonly db: Database,
    private readonly anchors: AuditAnchors,
  ) {}

  /** The append-only triggers only hold against a role that does not own audit_events (db/migrations/*AppRole*). */
  async onApplicationBootstrap(): Promise<void> {
    const unsafe = await this.repo.roleCanRewriteTrail().catch(() => false);
    if (unsafe) {
      this.logger.warn({
        msg: 'connected to PostgreSQL as a role that owns the audit trail (or a superuser): it could disable its append-only triggers; set DB_URL to the xspectre_api role and DB_OWNER_URL to the owner',
      });
    }
  }

  /** Appends within `manager`'s transaction; the row commits or rolls back with it. */
  async append(manager: EntityManager, input: AuditInput): Promise<void> {
    // Everything is bounded and made storable before the chain lock, which every audited write waits for.
    const row = this.rowFor(input);
    const tail = await this.repo.lockChainAndReadTail(manager);
    row.id = tail ? (BigInt(tail.id) + 1n).toString() : '1';
    row.occurredAt = new Date();
    row.prevHash = tail?.hash ?? GENESIS_HASH;
    row.hash = chainHash(row);
    await this.repo.insert(manager, row);
  }

  /**
   * In a transaction of its own: for events that must be kept although the request fails.
   * Should the row still be refused, a minimal one (action, actor, result, error code) is
   * appended instead, so a denied attempt always leaves a trace.
   */
  async appendDetached(input: AuditInput): Promise<void> {
    try {
      await this.db.detached((manager) => this.append(manager, input));
    } catch (error) {
      this.logger.error({ msg: 'audit row refused: appending a minimal row instead', action: input.action, err: (error as Error).message });
      const code = input.errorCode ?? input.errorMessage?.split(':', 1)[0] ?? null;
      await this.db.detached((manager) =>
        this.append(manager, {
          action: input.action,
          resourceType: input.resourceType,
          result: input.result,
          errorMessage: code,
          details: { minimal: true, ...(code ? { errorCode: code } : {}) },
          ...(input.userId !== undefined ? { userId: input.userId } : {}),
          ...(input.userEmail !== undefined ? { userEmail: input.userEmail } : {}),
        }),
      );
    }
  }

  private rowFor(input: AuditInput): AuditEventEntity {
    const ctx = requestContext.get();
    const row = new AuditEventEntity();
    row.userId = input.userId !== undefined ? input.userId : (ctx?.actor?.userId ?? null);
    row.userEmail = cappedColumn(input.userEmail !== undefined ? input.userEmail : (ctx?.actor?.email ?? null));
    row.sourceIp = cappedColumn(ctx?.sourceIp ?? null);
    row.requestId = cappedColumn(ctx?.requestId ?? null);
    row.action = cappedColumn(input.action) ?? '';
    row.resourceType = cappedColumn(input.resourceType) ?? '';
    row.resourceId = cappedColumn(input.resourceId ?? null);
    row.details = boundDetails(input.details ?? {});
    row.result = input.result;
    row.errorMessage = cappedColumn(input.errorMessage ?? null, AUDIT_BOUNDS.errorChars);
    return row;
  }

  async list(filter: AuditFilter): Promise<{ items: AuditEvent[]; total: number }> {
    const { items, total } = await this.repo.list(filter);
    return { items: items.map(toAuditEvent), total };
  }

  /**
   * Walks the whole chain in pages and reports the first row that does not fit; then checks
   * that the chain still reaches the newest signed checkpoint with the same hash there (a chain
   * whose newest rows were deleted is intact but shorter). An intact chain is checkpointed.
   */
  async verify(): Promise<AuditVerifyResponse> {
    // Read before the walk: every row a checkpoint names had committed before it was written.
    const anchor = await this.anchors.newest(await this.repo.databaseName());
    let previous: { id: string; hash: string } | null = null;
    let anchoredHash: string | null = null;
    let checked = 0;
    for (;;) {
      const page = await this.repo.readChainPage(previous?.id ?? '0', VERIFY_PAGE);
      if (page.length === 0) break;
      const broken = findChainBreak(page, previous);
      if (broken) {
        const index = page.findIndex((r) => r.id === broken.id);
        return { intact: false, checked: checked + Math.max(index, 0), firstBrokenId: broken.id, reason: broken.reason };
      }
      if (anchor) anchoredHash = page.find((r) => r.id === anchor.id)?.hash ?? anchoredHash;
      checked += page.length;
      const last = page[page.length - 1]!;
      previous = { id: last.id, hash: last.hash };
    }
    if (anchor && anchoredHash !== anchor.hash) return anchorBreak(anchor, previous, anchoredHash, checked);
    await this.checkpoint().catch((error: unknown) =>
      this.logger.error({ msg: 'could not write an audit checkpoint', err: (error as Error).message }),
    );
    return { intact: true, checked, firstBrokenId: null, reason: null };
  }

  /**
   * Appends a signed checkpoint of the chain's head, unless the head did not move or the chain
   * no longer holds the previous checkpoint's row (then a new one would hide the truncation).
   */
  async checkpoint(): Promise<{ written: AuditAnchor | null; line?: string; refused?: string }> {
    const database = await this.repo.databaseName();
    const last = await this.anchors.newest(database);
    const head = await this.repo.head();
    if (last) {
      const hash = await this.repo.hashAt(last.id);
      if (hash !== last.hash) {
        const refused = `the chain no longer holds row ${last.id} of the checkpoint signed at ${last.at} (head is ${head?.id ?? 'none'})`;
        this.logger.error({ msg: 'audit checkpoint refused: chain truncated or rewritten', reason: refused });
        return { written: null, refused };
      }
      if (head?.id === last.id) return { written: null };
    }
    if (!head) return { written: null };
    const anchor: AuditAnchor = { database, id: head.id, hash: head.hash, at: new Date().toISOString() };
    const line = await this.anchors.append(anchor);
    return { written: anchor, line };
  }
}

function anchorBreak(anchor: AuditAnchor, end: { id: string } | null, hashThere: string | null, checked: number): AuditVerifyResponse {
  const endId = end?.id ?? '0';
  const reason =
    hashThere === null
      ? `the chain ends at row ${endId} but the checkpoint signed at ${anchor.at} records row ${anchor.id}`
      : `row ${anchor.id} does not match the checkpoint signed at ${anchor.at} (hash ${anchor.hash.slice(0, 12)}…)`;
  const firstBrokenId = hashThere === null ? (BigInt(endId) + 1n).toString() : anchor.id;
  return { intact: false, checked, firstBrokenId, reason };
}

export function toAuditEvent(row: AuditEventEntity): AuditEvent {
  return {
    id: row.id,
    timestamp: row.occurredAt.toISOString(),
    userId: row.userId,
    userEmail: row.userEmail,
    sourceIp: row.sourceIp,
    requestId: row.requestId,
    action: row.action,
    resourceType: row.resourceType,
    resourceId: row.resourceId,
    details: row.details,
    result: row.result,
    errorMessage: row.errorMessage,
    hash: row.hash,
  };
}
