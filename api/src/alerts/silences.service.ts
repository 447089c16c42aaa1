import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { canMutateResource, type CreateSilence, type OrganizationKind } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { DevicesService } from '../devices/devices.service.js';
import { OrganizationsService } from '../organizations/organizations.service.js';
import { AlertChanges, AlertsService } from './alerts.service.js';
import { toSilenceDto } from './alerts.mapper.js';
import { SilencesRepository } from './silences.repository.js';

/**
 * Maintenance windows. Alerts opened in a silence are recorded but not delivered; when it ends
 * (at its time, or ended early here) the ones still open are delivered.
 */
@Injectable()
export class SilencesService {
  constructor(
    private readonly silences: SilencesRepository,
    private readonly alerts: AlertsService,
    private readonly organizations: OrganizationsService,
    private readonly devices: DevicesService,
  ) {}

  async list(filter: { state?: 'active' | 'upcoming' | 'ended' | 'current'; limit: number; offset: number }) {
    const now = new Date();
    const { items, total } = await this.silences.list(filter, now);
    return { items: items.map((s) => toSilenceDto(s, now)), total, limit: filter.limit, offset: filter.offset };
  }

  async create(actor: Actor, body: CreateSilence) {
    this.assertMayChange(actor, await this.kindOfScope(body.scope));
    const id = randomUUID();
    await this.silences.insert({
      id,
      scopeKind: body.scope.kind,
      scopeId: body.scope.id,
      startsAt: new Date(body.startsAt),
      endsAt: new Date(body.endsAt),
      reason: body.reason,
      createdBy: actor.email,
      createdAt: new Date(),
    });
    requestContext.annotate({ resourceId: id, details: { scope: body.scope, startsAt: body.startsAt, endsAt: body.endsAt } });
    return toSilenceDto((await this.silences.findById(id))!, new Date());
  }

  /** Ends a silence now; alerts it held back that are still open are delivered. */
  async end(actor: Actor, id: string) {
    const silence = await this.silences.findById(id, { lock: true });
    if (!silence) throw new AppError('SILENCE_NOT_FOUND', `no silence with id ${id}`);
    this.assertMayChange(actor, await this.kindOfScope({ kind: silence.scopeKind, id: silence.scopeId }));
    const now = new Date();
    if (new Date(silence.endsAt) <= now)
      throw new AppError('SILENCE_ENDED', `silence ${id} ended at ${new Date(silence.endsAt).toISOString()}`);
    await this.silences.end(id, now);
    const changes = new AlertChanges();
    await this.alerts.releaseEndedSilences(now, changes);
    requestContext.annotate({
      resourceId: id,
      details: { scope: { kind: silence.scopeKind, id: silence.scopeId }, released: changes.ids.size },
    });
    requestContext.afterCommit(() => this.alerts.publish(changes));
    return toSilenceDto((await this.silences.findById(id))!, new Date(now.getTime() + 1));
  }

  private async kindOfScope(scope: { kind: 'organization' | 'site' | 'device'; id: string }): Promise<OrganizationKind> {
    if (scope.kind === 'device') return (await this.devices.requireDevice(scope.id)).organizationKind;
    const organizationId = scope.kind === 'site' ? (await this.organizations.getSite(scope.id)).organizationId : scope.id;
    return (await this.organizations.get(organizationId)).kind;
  }

  private assertMayChange(actor: Actor, kind: OrganizationKind): void {
    if (!canMutateResource(actor.role, kind))
      throw new AppError('AUTH_INTERNAL_READ_ONLY', 'silencing internal infrastructure is for Super Admins');
  }
}
