import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import {
  BetterStackConfigSchema,
  WebhookConfigSchema,
  type Alert,
  type AlertTarget,
  type AlertTargetTestResult,
  type CreateAlertTarget,
  type UpdateAlertTarget,
} from '@xspectre/contracts';
import { requestContext } from '../common/context/request-context.js';
import { seal } from '../common/crypto/secrets.js';
import { keyringOf, keysFor, unsealWithAny } from '../common/crypto/keyring.js';
import { AppError } from '../common/errors/app-error.js';
import { parseOrThrow } from '../common/validation/zod-validation.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { hostOf, refusalForHost } from './address-check.js';
import type { AlertTargetEntity } from './alert-target.entity.js';
import { toAlertTargetDto } from './alert-delivery.mapper.js';
import { AlertTargetsRepository, type AlertTargetChanges } from './alert-targets.repository.js';
import { BetterStackClient, incidentBody } from './betterstack.client.js';
import { DeliveryFailure, scrub, type DeliveryTarget } from './delivery-target.js';
import { WebhookClient } from './webhook.client.js';

const CONFIG_SCHEMAS = { betterstack: BetterStackConfigSchema, webhook: WebhookConfigSchema } as const;

/** The URL a target sends to: what the address check judges. */
function targetUrl(kind: AlertTargetEntity['kind'], config: Record<string, unknown>): { url: string; field: string } {
  return kind === 'betterstack'
    ? { url: config.baseUrl as string, field: 'config.baseUrl' }
    : { url: config.url as string, field: 'config.url' };
}

/** The secret's last four characters: enough to tell two tokens apart, not to guess one. */
function secretHint(secret: string): string {
  return secret.slice(-4);
}

/**
 * Delivery targets: BetterStack's Uptime API and signed webhooks. The token or HMAC secret is
 * sealed with a key of its own purpose (api/src/common/crypto/secrets.ts, alertTargetSeal),
 * never returned, logged or audited (only its last four characters are shown).
 */
@Injectable()
export class AlertTargetsService {
  private readonly sealKey: Buffer;
  /** The current key, then API_SECRET_KEY_PREVIOUS's during a rotation (api/src/audit/sealed-fields-resealer.ts seals again with the current one). */
  private readonly openKeys: Buffer[];

  constructor(
    private readonly targets: AlertTargetsRepository,
    private readonly betterStack: BetterStackClient,
    private readonly webhook: WebhookClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const ring = keyringOf(config);
    this.sealKey = ring.current.alertTargetSeal;
    this.openKeys = keysFor(ring, 'alertTargetSeal');
  }

  private open(sealed: string): string {
    return unsealWithAny(this.openKeys, sealed).plaintext;
  }

  async list(): Promise<{ items: AlertTarget[] }> {
    return { items: (await this.targets.list()).map(toAlertTargetDto) };
  }

  async create(input: CreateAlertTarget): Promise<AlertTarget> {
    const secret = input.kind === 'betterstack' ? input.token : input.secret;
    await this.checkAddress(input.kind, input.config, input.allowPrivateAddress);
    const now = new Date();
    const target: AlertTargetEntity = {
      id: randomUUID(),
      kind: input.kind,
      name: input.name,
      enabled: input.enabled,
      routing: input.routing,
      allowPrivateAddress: input.allowPrivateAddress,
      config: input.config,
      secretSealed: seal(this.sealKey, secret),
      secretHint: secretHint(secret),
      createdAt: now,
      updatedAt: now,
    };
    await this.targets.insert(target);
    this.annotate(target);
    return toAlertTargetDto(target);
  }

  async update(id: string, input: UpdateAlertTarget): Promise<AlertTarget> {
    const current = this.require(await this.targets.findByIdLocked(id), id);
    const changes: AlertTargetChanges = { updatedAt: new Date() };
    if (input.name !== undefined) changes.name = input.name;
    if (input.enabled !== undefined) changes.enabled = input.enabled;
    if (input.routing !== undefined) changes.routing = input.routing;
    if (input.allowPrivateAddress !== undefined) changes.allowPrivateAddress = input.allowPrivateAddress;
    if (input.config !== undefined) {
      // The whole config of the target's kind (the kind itself never changes).
      const schema = z.object({ config: CONFIG_SCHEMAS[current.kind] });
      changes.config = parseOrThrow(schema, { config: input.config }, 'body').config;
    }
    if (input.secret !== undefined) {
      changes.secretSealed = seal(this.sealKey, input.secret);
      changes.secretHint = secretHint(input.secret);
    }
    const next = { ...current, ...changes };
    if (changes.config !== undefined || changes.allowPrivateAddress !== undefined)
      await this.checkAddress(next.kind, next.config, next.allowPrivateAddress);
    await this.targets.update(id, changes);
    this.annotate(next, { changed: Object.keys(input).map((k) => (k === 'secret' ? 'secretHint' : k)) });
    return toAlertTargetDto(next);
  }

  /** Deletes the target and every delivery row of it (incidents it opened stay in BetterStack as they are). */
  async remove(id: string): Promise<AlertTarget> {
    const target = this.require(await this.targets.findByIdLocked(id), id);
    await this.targets.delete(id);
    this.annotate(target);
    return toAlertTargetDto(target);
  }

  /**
   * Sends a real test message: BetterStack gets an incident named as a test, resolved at once;
   * a webhook gets a signed `test` POST. The result says what the target answered.
   */
  async sendTest(id: string): Promise<AlertTargetTestResult> {
    const entity = this.require(await this.targets.findById(id), id);
    this.annotate(entity);
    let target: DeliveryTarget;
    try {
      target = this.toDeliveryTarget(entity);
    } catch (error) {
      // A secret no key opens (API_SECRET_KEY changed) is the target's problem, said as a failed test, not a 500.
      if (!(error instanceof DeliveryFailure)) throw error;
      requestContext.annotate({ details: { ok: false, status: null } });
      return { ok: false, status: null, message: error.message, remoteId: null, durationMs: 0 };
    }
    const started = Date.now();
    const alert = testAlert(entity.name);
    const result = (ok: boolean, status: number | null, message: string, remoteId: string | null): AlertTargetTestResult => {
      requestContext.annotate({ details: { ok, status } });
      return { ok, status, message: scrub(message, target.secret), remoteId, durationMs: Date.now() - started };
    };
    try {
      if (target.kind === 'webhook') {
        const status = await this.webhook.send(target, {
          deliveryId: `test-${alert.id}`,
          kind: 'test',
          sequence: 0,
          alert,
          consoleUrl: null,
        });
        return result(true, status, `the webhook answered ${status}`, null);
      }
      const incidentId = await this.betterStack.create(target, incidentBody(target, alert, undefined));
      try {
        await this.betterStack.resolve(target, incidentId, 'xSPECTRE (test)');
      } catch (error) {
        const failure = error instanceof DeliveryFailure ? error : new DeliveryFailure(String(error));
        return result(false, failure.status, `incident ${incidentId} was created, but resolving it failed: ${failure.message}`, incidentId);
      }
      return result(true, 201, `incident ${incidentId} was created and resolved`, incidentId);
    } catch (error) {
      if (!(error instanceof DeliveryFailure)) throw error;
      return result(false, error.status, error.message, null);
    }
  }

  /** The target with its secret unsealed, for the delivery queue; null when it no longer exists. */
  async loadForDelivery(id: string): Promise<DeliveryTarget | null> {
    const entity = await this.targets.findById(id);
    return entity ? this.toDeliveryTarget(entity) : null;
  }

  /** Enabled targets, for routing a new alert. */
  async enabledTargets(): Promise<AlertTargetEntity[]> {
    return this.targets.listEnabled();
  }

  private toDeliveryTarget(entity: AlertTargetEntity): DeliveryTarget {
    let secret: string;
    try {
      secret = this.open(entity.secretSealed);
    } catch {
      throw new DeliveryFailure('the target secret cannot be unsealed (API_SECRET_KEY changed?): set it again');
    }
    const parsed = CONFIG_SCHEMAS[entity.kind].safeParse(entity.config);
    if (!parsed.success) throw new DeliveryFailure(`the stored config is not valid for ${entity.kind}: edit the target`);
    const base = { id: entity.id, secret, allowPrivateAddress: entity.allowPrivateAddress };
    return entity.kind === 'betterstack'
      ? { ...base, kind: 'betterstack', config: parsed.data as z.infer<typeof BetterStackConfigSchema> }
      : { ...base, kind: 'webhook', config: parsed.data as z.infer<typeof WebhookConfigSchema> };
  }

  /** 400 naming the address when the target's host is (or resolves to) an address it may not reach. */
  private async checkAddress(
    kind: AlertTargetEntity['kind'],
    config: Record<string, unknown>,
    allowPrivateAddress: boolean,
  ): Promise<void> {
    if (allowPrivateAddress) return;
    const { url, field } = targetUrl(kind, config);
    const refusal = await refusalForHost(hostOf(url), { overlayCidr: this.config.API_OVERLAY_CIDR });
    if (!refusal) return;
    const message = `${refusal}: set allowPrivateAddress to deliver there`;
    throw new AppError('ALERT_TARGET_ADDRESS_REFUSED', `${field}: ${message}`, { errors: [{ path: `body.${field}`, message }] });
  }

  private require(target: AlertTargetEntity | null, id: string): AlertTargetEntity {
    if (!target) throw new AppError('ALERT_TARGET_NOT_FOUND', `no alert target with id ${id}`);
    return target;
  }

  /** The audit row names the target; the body's token/secret is redacted by the audit log (audit-redaction.ts). */
  private annotate(target: AlertTargetEntity, extra: Record<string, unknown> = {}): void {
    requestContext.annotate({
      resourceId: target.id,
      details: {
        name: target.name,
        kind: target.kind,
        enabled: target.enabled,
        allowPrivateAddress: target.allowPrivateAddress,
        url: targetUrl(target.kind, target.config).url,
        secretHint: target.secretHint,
        ...extra,
      },
    });
  }
}

/** The made-up alert of a test message. */
function testAlert(targetName: string): Alert {
  return {
    id: randomUUID(),
    ruleId: null,
    ruleKey: 'test',
    kind: 'event',
    severity: 'info',
    state: 'open',
    deviceId: null,
    deviceName: null,
    organizationId: null,
    organizationName: null,
    siteId: null,
    siteName: null,
    subject: '',
    title: `xSPECTRE test message for ${targetName}`,
    details: { test: true },
    silenced: false,
    openedAt: new Date().toISOString(),
    acknowledgedAt: null,
    acknowledgedBy: null,
    acknowledgeNote: null,
    resolvedAt: null,
    resolvedBy: null,
    resolution: null,
    resolveNote: null,
  };
}
