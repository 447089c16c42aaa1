import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { canMutateResource, type AlertCounts, type AlertRuleKind, type ListAlertsQuery } from '@xspectre/contracts';
import { AlertDeliveries } from '../alert-delivery/alert-deliveries.service.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { LivePublisher } from '../live/live-publisher.js';
import { AlertsRepository, type AlertRow, type NewAlert, type OpenAlertKey } from './alerts.repository.js';
import { SilencesRepository } from './silences.repository.js';
import { toAlertDto } from './alerts.mapper.js';

/** What the engine asks to open (the id, silence and time are the lifecycle's). */
export type AlertSpec = Omit<NewAlert, 'id' | 'silenced' | 'openedAt'>;

/** Alerts changed in a transaction: announced and handed to delivery once it committed. */
export class AlertChanges {
  readonly ids = new Set<string>();
  add(ids: Iterable<string>): void {
    for (const id of ids) this.ids.add(id);
  }
}

/** Who resolves automatically, as the alert shows it. */
export const ENGINE_ACTOR = 'xSPECTRE (auto)';

/**
 * The alert lifecycle: open (deduplicated by the unresolved unique index), acknowledge, resolve.
 * Every change queues its delivery messages in the same transaction; consoles and the delivery
 * queue hear of it after the commit (`publish`).
 */
@Injectable()
export class AlertsService {
  private readonly logger = new Logger(AlertsService.name);

  constructor(
    private readonly alerts: AlertsRepository,
    private readonly silences: SilencesRepository,
    private readonly deliveries: AlertDeliveries,
    private readonly live: LivePublisher,
  ) {}

  /** Opens the alerts that have no unresolved twin; silenced ones are recorded and not delivered. */
  async open(specs: AlertSpec[], now: Date, changes: AlertChanges): Promise<string[]> {
    if (specs.length === 0) return [];
    const covered = await this.silences.covering(now, specs);
    const opened = await this.alerts.openMany(specs.map((s, i) => ({ ...s, id: randomUUID(), silenced: covered[i]!, openedAt: now })));
    const rows = await this.alerts.findByIds(opened);
    await this.deliveries.enqueue(rows.filter((r) => !r.silenced).map(toAlertDto), 'create');
    changes.add(opened);
    return opened;
  }

  /** Resolves alerts whose condition cleared (recorded as automatic). */
  async resolveAuto(ids: string[], now: Date, changes: AlertChanges, note: string | null = null): Promise<void> {
    const resolved = await this.alerts.resolve(ids, { by: ENGINE_ACTOR, note, resolution: 'auto', at: now });
    await this.deliverChange(resolved, 'resolve');
    changes.add(resolved);
  }

  /** Open silenced alerts whose silence is over are delivered now (their create was held back). */
  async releaseEndedSilences(now: Date, changes: AlertChanges): Promise<void> {
    const released = await this.alerts.unsilenceEnded(now);
    const rows = await this.alerts.findByIds(released);
    await this.deliveries.enqueue(rows.map(toAlertDto), 'create');
    await this.deliveries.enqueue(rows.filter((r) => r.state === 'acknowledged').map(toAlertDto), 'acknowledge');
    changes.add(released);
  }

  unresolvedOfKinds(kinds: AlertRuleKind[]): Promise<OpenAlertKey[]> {
    return this.alerts.unresolvedOfKinds(kinds);
  }

  async acknowledge(actor: Actor, id: string, note: string | null) {
    const alert = await this.requireForChange(actor, id);
    if (alert.state === 'resolved')
      throw new AppError('ALERT_ALREADY_RESOLVED', `alert ${id} was resolved at ${alert.resolvedAt?.toISOString()}`);
    if (alert.state === 'acknowledged')
      throw new AppError('ALERT_ALREADY_ACKNOWLEDGED', `alert ${id} was acknowledged by ${alert.acknowledgedBy ?? 'someone'}`);
    await this.alerts.acknowledge(id, actor.email, note || null, new Date());
    await this.deliverChange([id], 'acknowledge');
    return this.afterRequest(id);
  }

  async resolve(actor: Actor, id: string, note: string) {
    const alert = await this.requireForChange(actor, id);
    if (alert.state === 'resolved')
      throw new AppError('ALERT_ALREADY_RESOLVED', `alert ${id} was resolved at ${alert.resolvedAt?.toISOString()}`);
    await this.alerts.resolve([id], { by: actor.email, note, resolution: 'manual', at: new Date() });
    await this.deliverChange([id], 'resolve');
    return this.afterRequest(id);
  }

  async get(id: string) {
    const alert = await this.alerts.findById(id);
    if (!alert) throw new AppError('ALERT_NOT_FOUND', `no alert with id ${id}`);
    return toAlertDto(alert);
  }

  async list(query: ListAlertsQuery) {
    const { items, total } = await this.alerts.list(query);
    return { items: items.map(toAlertDto), total, limit: query.limit, offset: query.offset };
  }

  async counts(): Promise<AlertCounts> {
    const counts: AlertCounts = { unresolved: 0, critical: 0, warning: 0, info: 0, unacknowledged: 0 };
    for (const row of await this.alerts.counts()) {
      counts.unresolved += row.n;
      counts[row.severity] += row.n;
      if (row.state === 'open') counts.unacknowledged += row.n;
    }
    return counts;
  }

  /** After the transaction that made `changes` committed: consoles and the delivery queue. */
  async publish(changes: AlertChanges): Promise<void> {
    if (changes.ids.size === 0) return;
    const ids = [...changes.ids];
    try {
      const rows = await this.alerts.findByIds(ids);
      for (const row of rows) await this.live.alertChanged(toAlertDto(row));
      await this.deliveries.kick(ids);
    } catch (error) {
      // The rows are committed: the delivery sweep and a console's refetch catch up.
      this.logger.warn({
        msg: 'alert announcement failed',
        alerts: ids.length,
        err: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private async deliverChange(ids: string[], kind: 'acknowledge' | 'resolve'): Promise<void> {
    const rows = await this.alerts.findByIds(ids);
    await this.deliveries.enqueue(rows.filter((r) => !r.silenced).map(toAlertDto), kind);
  }

  /** Locked for the request; internal infrastructure's alerts are Super Admin's to handle. */
  private async requireForChange(actor: Actor, id: string): Promise<AlertRow> {
    const alert = await this.alerts.findById(id, { lock: true });
    if (!alert) throw new AppError('ALERT_NOT_FOUND', `no alert with id ${id}`);
    if (alert.organizationKind && !canMutateResource(actor.role, alert.organizationKind))
      throw new AppError('AUTH_INTERNAL_READ_ONLY', 'alerts of internal infrastructure are handled by Super Admins');
    requestContext.annotate({ resourceId: id, details: { ruleKey: alert.ruleKey, deviceId: alert.deviceId, severity: alert.severity } });
    return alert;
  }

  private async afterRequest(id: string) {
    const changes = new AlertChanges();
    changes.add([id]);
    requestContext.afterCommit(() => this.publish(changes));
    return this.get(id);
  }
}
