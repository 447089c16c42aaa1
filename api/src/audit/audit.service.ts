import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuditEvent, AuditVerifyResponse } from '@xspectre/contracts';
import { requestContext } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { AuditEventEntity } from './audit-event.entity.js';
import { GENESIS_HASH, chainHash, findChainBreak, redactSecrets } from './audit-chain.js';
import { AuditRepository, type AuditFilter } from './audit.repository.js';

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
}

const VERIFY_PAGE = 2000;

@Injectable()
export class AuditService {
  constructor(
    private readonly repo: AuditRepository,
    private readonly db: Database,
  ) {}

  /** Appends within `manager`'s transaction; the row commits or rolls back with it. */
  async append(manager: EntityManager, input: AuditInput): Promise<void> {
    const ctx = requestContext.get();
    const tail = await this.repo.lockChainAndReadTail(manager);
    const row = new AuditEventEntity();
    row.id = tail ? (BigInt(tail.id) + 1n).toString() : '1';
    row.occurredAt = new Date();
    row.userId = input.userId !== undefined ? input.userId : (ctx?.actor?.userId ?? null);
    row.userEmail = input.userEmail !== undefined ? input.userEmail : (ctx?.actor?.email ?? null);
    row.sourceIp = ctx?.sourceIp ?? null;
    row.requestId = ctx?.requestId ?? null;
    row.action = input.action;
    row.resourceType = input.resourceType;
    row.resourceId = input.resourceId ?? null;
    row.details = redactSecrets(input.details ?? {}) as Record<string, unknown>;
    row.result = input.result;
    row.errorMessage = input.errorMessage ?? null;
    row.prevHash = tail?.hash ?? GENESIS_HASH;
    row.hash = chainHash(row);
    await this.repo.insert(manager, row);
  }

  /** In a transaction of its own: for events that must be kept although the request fails. */
  appendDetached(input: AuditInput): Promise<void> {
    return this.db.detached((manager) => this.append(manager, input));
  }

  async list(filter: AuditFilter): Promise<{ items: AuditEvent[]; total: number }> {
    const { items, total } = await this.repo.list(filter);
    return { items: items.map(toAuditEvent), total };
  }

  /** Walks the whole chain in pages and reports the first row that does not fit. */
  async verify(): Promise<AuditVerifyResponse> {
    let previous: { id: string; hash: string } | null = null;
    let checked = 0;
    for (;;) {
      const page = await this.repo.readChainPage(previous?.id ?? '0', VERIFY_PAGE);
      if (page.length === 0) break;
      const broken = findChainBreak(page, previous);
      if (broken) {
        const index = page.findIndex((r) => r.id === broken.id);
        return { intact: false, checked: checked + Math.max(index, 0), firstBrokenId: broken.id, reason: broken.reason };
      }
      checked += page.length;
      const last = page[page.length - 1]!;
      previous = { id: last.id, hash: last.hash };
    }
    return { intact: true, checked, firstBrokenId: null, reason: null };
  }
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
