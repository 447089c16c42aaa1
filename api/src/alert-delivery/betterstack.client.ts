import { Inject, Injectable } from '@nestjs/common';
import type { Alert } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DeliveryFailure, answerExcerpt, scrub, type DeliveryTarget } from './delivery-target.js';
import { OutboundError, outboundRequest, type OutboundResponse } from './outbound-http.js';

type BetterStackTarget = Extract<DeliveryTarget, { kind: 'betterstack' }>;

/** Who acknowledged or resolved, when no operator did: the engine's own resolution. */
export const AUTOMATIC_ACTOR = 'xSPECTRE (auto)';
/** The incident list is read at most this many pages deep when looking for a lost create. */
const MAX_LOOKUP_PAGES = 20;
const MAX_DESCRIPTION_CHARS = 4000;

/** The marker an incident carries so a create whose answer was lost can be found again. */
export function incidentMarker(alertId: string): string {
  return `[xs-${alertId}]`;
}

/** The console's page of an alert, when the console's public URL is configured. */
export function consoleLink(consoleUrl: string | undefined, alertId: string): string | null {
  return consoleUrl ? `${consoleUrl.replace(/\/+$/, '')}/alerts/${alertId}` : null;
}

/** The create request's body (pure): name and summary carry the marker; notification channels by the severity's policy. */
export function incidentBody(target: BetterStackTarget, alert: Alert, consoleUrl: string | undefined): Record<string, unknown> {
  const marker = incidentMarker(alert.id);
  const where = alert.deviceName ?? 'fleet';
  const place = [alert.organizationName, alert.siteName].filter(Boolean).join(' / ');
  const link = consoleLink(consoleUrl, alert.id);
  const lines = [
    `${alert.title}`,
    '',
    `Severity: ${alert.severity}`,
    `Device: ${alert.deviceName ?? '(fleet-wide)'}${alert.deviceId ? ` (${alert.deviceId})` : ''}`,
    `Organization: ${alert.organizationName ?? '(all)'}`,
    `Site: ${alert.siteName ?? '(all)'}`,
    ...(alert.subject ? [`Subject: ${alert.subject}`] : []),
    ...Object.entries(alert.details)
      .slice(0, 20)
      .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`.slice(0, 300)),
    `Opened: ${alert.openedAt}`,
    `Rule: ${alert.ruleKey}`,
    ...(link ? ['', `Console: ${link}`] : []),
    '',
    `Alert ${alert.id} ${marker}`,
  ];
  const policy = target.config.policy[alert.severity];
  return {
    requester_email: target.config.requesterEmail,
    name: `${alert.title.slice(0, 150)} on ${where.slice(0, 80)} ${marker}`,
    summary: `${alert.severity.toUpperCase()}: ${alert.title.slice(0, 150)} on ${where.slice(0, 80)}${place ? ` (${place.slice(0, 120)})` : ''} ${marker}`,
    description: lines.join('\n').slice(0, MAX_DESCRIPTION_CHARS),
    call: policy.call,
    sms: policy.sms,
    email: policy.email,
    push: policy.push,
    ...(target.config.teamName ? { team_name: target.config.teamName } : {}),
  };
}

/**
 * BetterStack's Uptime API v3 incidents: create, find (by marker), acknowledge, resolve. Every
 * request carries the target's Bearer token, has a timeout, and reads a bounded answer; failures
 * are DeliveryFailure with a message that never contains the token.
 */
@Injectable()
export class BetterStackClient {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Creates the incident; returns its id (`data.id`). */
  async create(target: BetterStackTarget, body: Record<string, unknown>): Promise<string> {
    const res = await this.send(target, 'POST', this.url(target, '/api/v3/incidents'), body);
    if (res.status < 200 || res.status > 299) throw this.refused(target, res, 'create');
    const id = this.parse(target, res)?.data?.id;
    if (typeof id !== 'string' && typeof id !== 'number')
      throw new DeliveryFailure(`create answered ${res.status} without data.id`, res.status);
    return String(id);
  }

  /**
   * The id of an incident carrying `marker` in its name or summary, started on or after `since`
   * (read page by page through `pagination.next`), or null when there is none.
   */
  async find(target: BetterStackTarget, marker: string, since: Date): Promise<string | null> {
    // The API takes a day (YYYY-MM-DD); a day earlier covers any time zone the account is in.
    const from = new Date(since.getTime() - 86_400_000).toISOString().slice(0, 10);
    let url: string | null = `${this.url(target, '/api/v3/incidents')}?from=${from}&per_page=50`;
    const origin = new URL(this.url(target, '/')).origin;
    for (let page = 0; url && page < MAX_LOOKUP_PAGES; page++) {
      const res = await this.send(target, 'GET', url);
      if (res.status !== 200) throw this.refused(target, res, 'incident lookup');
      const parsed = this.parse(target, res) as { data?: unknown; pagination?: { next?: unknown } } | null;
      const items = Array.isArray(parsed?.data) ? (parsed.data as Array<{ id?: unknown; attributes?: Record<string, unknown> }>) : [];
      for (const item of items) {
        const attributes = item.attributes ?? {};
        const texts = [attributes.name, attributes.summary, attributes.cause].filter((t): t is string => typeof t === 'string');
        if (texts.some((t) => t.includes(marker)) && (typeof item.id === 'string' || typeof item.id === 'number')) return String(item.id);
      }
      const next = parsed?.pagination?.next;
      if (typeof next !== 'string' || next === '') return null;
      // The token goes only where the target's base URL points.
      if (new URL(next, origin).origin !== origin) throw new DeliveryFailure('incident lookup: pagination.next points to another host');
      url = new URL(next, origin).toString();
    }
    if (url) throw new DeliveryFailure(`incident lookup: more than ${MAX_LOOKUP_PAGES} pages of incidents since ${from}`);
    return null;
  }

  /** Acknowledges; 'already' when BetterStack answers 409 (acknowledged or resolved before). */
  acknowledge(target: BetterStackTarget, incidentId: string, by: string): Promise<'done' | 'already'> {
    return this.transition(target, incidentId, 'acknowledge', { acknowledged_by: by });
  }

  /** Resolves; 'already' when BetterStack answers 409 (resolved before). */
  resolve(target: BetterStackTarget, incidentId: string, by: string): Promise<'done' | 'already'> {
    return this.transition(target, incidentId, 'resolve', { resolved_by: by });
  }

  private async transition(
    target: BetterStackTarget,
    incidentId: string,
    action: 'acknowledge' | 'resolve',
    body: Record<string, unknown>,
  ): Promise<'done' | 'already'> {
    const res = await this.send(target, 'POST', this.url(target, `/api/v3/incidents/${encodeURIComponent(incidentId)}/${action}`), body);
    if (res.status === 409) return 'already';
    if (res.status < 200 || res.status > 299) throw this.refused(target, res, action);
    return 'done';
  }

  private async send(target: BetterStackTarget, method: 'GET' | 'POST', url: string, body?: unknown): Promise<OutboundResponse> {
    try {
      return await outboundRequest(
        {
          method,
          url,
          headers: { authorization: `Bearer ${target.secret}` },
          body: body === undefined ? undefined : JSON.stringify(body),
          allowPrivateAddress: target.allowPrivateAddress,
        },
        { overlayCidr: this.config.API_OVERLAY_CIDR },
      );
    } catch (error) {
      if (error instanceof OutboundError)
        throw new DeliveryFailure(scrub(`${method} ${new URL(url).pathname}: ${error.message}`, target.secret));
      throw error;
    }
  }

  private url(target: BetterStackTarget, path: string): string {
    return `${target.config.baseUrl.replace(/\/+$/, '')}${path}`;
  }

  private parse(target: BetterStackTarget, res: OutboundResponse): { data?: { id?: unknown } } | null {
    try {
      return JSON.parse(res.body) as { data?: { id?: unknown } };
    } catch {
      throw new DeliveryFailure(scrub(`answer ${res.status} is not JSON: ${answerExcerpt(res.body)}`, target.secret), res.status);
    }
  }

  private refused(target: BetterStackTarget, res: OutboundResponse, what: string): DeliveryFailure {
    return new DeliveryFailure(scrub(`${what} answered ${res.status}: ${answerExcerpt(res.body)}`, target.secret), res.status);
  }
}
