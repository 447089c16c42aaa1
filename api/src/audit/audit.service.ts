import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AUDIT_TOTAL_CAP, type AuditEvent, type AuditVerifyResponse } from '@xspectre/contracts';
import { requestContext } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { AuditEventEntity } from './audit-event.entity.js';
import type { AuditVerificationEntity } from './audit-verification.entity.js';
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
/** How many recent results an incremental run looks through for a correctly signed one. */
const SIGNED_START_LOOKBACK = 20;

export interface AuditPage {
  items: AuditEvent[];
  total: number;
  totalCapped: boolean;
  nextCursor: string | null;
}

/** A run's result: the wire answer plus where it started and whether it walked from the first row. */
export interface ChainVerification extends AuditVerifyResponse {
  full: boolean;
  fromId: string;
  verifiedThroughId: string | null;
}

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
    // A service request has no user: the row names the service and its credential's name instead.
    const serviceName = ctx?.service ? `service:${ctx.service.service}/${ctx.service.name}` : null;
    row.userEmail = cappedColumn(input.userEmail !== undefined ? input.userEmail : (ctx?.actor?.email ?? serviceName));
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

  /**
   * A newest-first page. Unfiltered, the total is the chain head's id (ids are gap-free
   * positions in the chain, assigned under its lock), so no count(*) over the table; filtered,
   * matching rows are counted up to `countCap` (default AUDIT_TOTAL_CAP) and more report
   * `countCap + 1` with `totalCapped`.
   */
  async list(filter: AuditFilter, countCap = AUDIT_TOTAL_CAP): Promise<AuditPage> {
    const { items, more, filteredTotal, headId } = await this.repo.list(filter, countCap);
    const total = filteredTotal ?? headId ?? 0;
    return {
      items: items.map(toAuditEvent),
      total,
      totalCapped: filteredTotal !== null && filteredTotal > countCap,
      nextCursor: more && items.length ? items[items.length - 1]!.id : null,
    };
  }

  /**
   * The latest result the worker recorded (verifyChain), read on the request path instead of
   * walking the table. A result whose signature does not verify is reported as a break.
   */
  async latestVerification(): Promise<AuditVerifyResponse> {
    const [latest, head] = await Promise.all([this.repo.latestVerification(), this.repo.head()]);
    const headId = head?.id ?? null;
    if (!latest) {
      return {
        intact: true,
        checked: 0,
        firstBrokenId: null,
        reason: null,
        verifiedAt: null,
        verifiedThroughId: null,
        headId,
        full: false,
      };
    }
    const base = {
      checked: latest.checked,
      verifiedAt: latest.verifiedAt.toISOString(),
      verifiedThroughId: latest.throughId,
      headId,
      full: latest.full,
    };
    if (!this.signatureHolds(latest)) {
      return {
        ...base,
        intact: false,
        firstBrokenId: null,
        reason: `the verification result recorded at ${base.verifiedAt} is not signed by this installation`,
      };
    }
    return { ...base, intact: latest.intact, firstBrokenId: latest.firstBrokenId, reason: latest.reason };
  }

  /**
   * The worker's verification. Incremental (the default): from the newest correctly signed
   * result, if intact, re-hashes that row (it must still be there with the same hash) and walks only
   * the rows after it; a chain that no longer holds that row, or with no usable result, is walked
   * from its first row, which `full` forces. Either way the chain must reach the newest signed
   * checkpoint with the same hash there. The result is recorded (signed) and an intact chain is
   * checkpointed.
   */
  async verifyChain(options: { full?: boolean } = {}): Promise<ChainVerification> {
    const database = await this.repo.databaseName();
    // Read before the walk: every row a checkpoint names had committed before it was written.
    const anchor = await this.anchors.newest(database);
    const start = options.full ? null : await this.signedStart();
    let previous: { id: string; hash: string } | null = null;
    if (start) {
      const row = await this.repo.rowAt(start.throughId);
      // The starting row must still hold the verified hash, and its content must still produce it.
      if (
        row &&
        row.hash === start.throughHash &&
        findChainBreak([row], { id: (BigInt(row.id) - 1n).toString(), hash: row.prevHash }) === null
      ) {
        previous = { id: row.id, hash: row.hash };
      }
    }
    const full = previous === null;
    const fromId = previous ? (BigInt(previous.id) + 1n).toString() : '1';
    // A checkpoint at or before the starting row was verified by an earlier run: its row must still carry the checkpoint's hash.
    let anchoredHash: string | null =
      anchor && previous && BigInt(anchor.id) <= BigInt(previous.id) ? await this.repo.hashAt(anchor.id) : null;
    let checked = 0;
    let result: AuditVerifyResponse | null = null;
    for (;;) {
      const page = await this.repo.readChainPage(previous?.id ?? '0', VERIFY_PAGE);
      if (page.length === 0) break;
      const broken = findChainBreak(page, previous);
      if (broken) {
        const index = page.findIndex((r) => r.id === broken.id);
        result = { intact: false, checked: checked + Math.max(index, 0), firstBrokenId: broken.id, reason: broken.reason };
        break;
      }
      if (anchor) anchoredHash = page.find((r) => r.id === anchor.id)?.hash ?? anchoredHash;
      checked += page.length;
      const last = page[page.length - 1]!;
      previous = { id: last.id, hash: last.hash };
    }
    if (!result && anchor && anchoredHash !== anchor.hash) result = anchorBreak(anchor, previous, anchoredHash, checked);
    result ??= { intact: true, checked, firstBrokenId: null, reason: null };
    const verification: ChainVerification = { ...result, full, fromId, verifiedThroughId: previous?.id ?? null };
    await this.record(verification, previous);
    if (result.intact) {
      await this.checkpoint().catch((error: unknown) =>
        this.logger.error({ msg: 'could not write an audit checkpoint', err: (error as Error).message }),
      );
    }
    return verification;
  }

  /** A walk of the whole chain from its first row (the worker's daily run; see verifyChain). */
  verify(): Promise<ChainVerification> {
    return this.verifyChain({ full: true });
  }

  private async record(v: ChainVerification, reached: { id: string; hash: string } | null): Promise<void> {
    const row: Omit<AuditVerificationEntity, 'id' | 'mac'> = {
      verifiedAt: new Date(),
      full: v.full,
      fromId: v.fromId,
      // An empty chain is verified "through" row 0 with the genesis hash.
      throughId: reached?.id ?? '0',
      throughHash: reached?.hash ?? GENESIS_HASH,
      checked: v.checked,
      intact: v.intact,
      firstBrokenId: v.firstBrokenId,
      reason: v.reason,
    };
    await this.repo.recordVerification({ ...row, mac: this.anchors.macOfVerification(verificationFields(row)) });
  }

  private signatureHolds(row: AuditVerificationEntity): boolean {
    return this.anchors.verificationMacMatches(verificationFields(row), row.mac);
  }

  /**
   * The newest result this installation signed (a forged row is skipped), if it found the chain
   * intact. After a break every run walks from the first row, so the break keeps being reported
   * (an incremental run from the last intact point would read only rows after it).
   */
  private async signedStart(): Promise<AuditVerificationEntity | null> {
    for (const row of await this.repo.recentVerifications(SIGNED_START_LOOKBACK)) {
      if (this.signatureHolds(row)) return row.intact && row.throughId !== '0' ? row : null;
    }
    return null;
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

function verificationFields(row: Omit<AuditVerificationEntity, 'id' | 'mac'>): Array<string | number | boolean | null> {
  return [
    row.verifiedAt.toISOString(),
    row.full,
    row.fromId,
    row.throughId,
    row.throughHash,
    row.checked,
    row.intact,
    row.firstBrokenId,
    row.reason,
  ];
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
