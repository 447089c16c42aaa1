import { Inject, Injectable } from '@nestjs/common';
import {
  canMutateResource,
  SUMMARY_WORST_LIMIT,
  type DeviceSummary,
  type DeviceType,
  type MetricsQuery,
  type OrganizationKind,
} from '@xspectre/contracts';
import { MetricsService } from '../telemetry/metrics.service.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/pg-errors.js';
import { deriveKeys } from '../auth/secrets.js';
import { OrganizationsService } from '../organizations/organizations.service.js';
import { HubService } from '../hub/hub.service.js';
import { OverlayAllocator } from '../hub/overlay-allocator.js';
import { ConnectivityRepository } from '../telemetry/connectivity.repository.js';
import { offlineAfterMs } from '../telemetry/connectivity.js';
import { LivePublisher } from '../live/live-publisher.js';
import { DeviceEventsRepository } from '../device-events/device-events.repository.js';
import { hashClaimCode, newClaimCode } from './claim-code-text.js';
import { ClaimCodesRepository } from './claim-codes.repository.js';
import { defaultModules } from './device-modules.js';
import { toClaimCodeDto, toDeviceDto } from './devices.mapper.js';
import { DevicesRepository, type DeviceFilter, type DeviceRow, type SummaryScope, type WorstRow } from './devices.repository.js';

@Injectable()
export class DevicesService {
  private readonly claimKey: Buffer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly devices: DevicesRepository,
    private readonly claimCodes: ClaimCodesRepository,
    private readonly organizations: OrganizationsService,
    private readonly hub: HubService,
    private readonly overlay: OverlayAllocator,
    private readonly connectivity: ConnectivityRepository,
    private readonly metricsService: MetricsService,
    private readonly live: LivePublisher,
    private readonly events: DeviceEventsRepository,
  ) {
    this.claimKey = deriveKeys(config.API_SECRET_KEY).claimCodeHmac;
  }

  async list(filter: DeviceFilter) {
    const { items, total } = await this.devices.list(filter, offlineAfterMs(this.config.API_AGENT_HEARTBEAT_SECONDS));
    return {
      items: items.map((d) => toDeviceDto(d, this.config.API_AGENT_HEARTBEAT_SECONDS)),
      total,
      limit: filter.limit,
      offset: filter.offset,
    };
  }

  /** The overview's numbers over the whole fleet (or one organization, site or type). */
  async summary(scope: SummaryScope): Promise<DeviceSummary> {
    const onlineSince = new Date(Date.now() - offlineAfterMs(this.config.API_AGENT_HEARTBEAT_SECONDS));
    const [counts, organizations, worst] = await Promise.all([
      this.devices.summaryCounts(scope, onlineSince),
      this.devices.organizationCounts(scope, onlineSince),
      this.devices.worst(scope, onlineSince, SUMMARY_WORST_LIMIT),
    ]);
    const worstOf = (metric: WorstRow['metric']) =>
      worst
        .filter((w) => w.metric === metric)
        .map((w) => ({ id: w.id, name: w.name, value: w.value, sampledAt: w.sampledAt.toISOString() }));
    return {
      total: counts.total,
      byStatus: { pending: counts.pending, active: counts.active, revoked: counts.revoked, retired: counts.retired },
      connectivity: { online: counts.online, offline: counts.offline, neverSeen: counts.neverSeen },
      quarantined: counts.quarantined,
      organizations: organizations.map((o) => ({
        organizationId: o.organizationId,
        name: o.name,
        billable: o.kind === 'customer',
        active: o.active,
        online: o.online,
        pending: o.pending,
      })),
      worst: { cpuPercent: worstOf('cpu'), memUsedPercent: worstOf('mem'), diskUsedPercentMax: worstOf('disk') },
    };
  }

  async get(id: string) {
    const device = await this.devices.findViewById(id);
    if (!device) throw new AppError('DEVICE_NOT_FOUND', `no device with id ${id}`);
    return toDeviceDto(device, this.config.API_AGENT_HEARTBEAT_SECONDS);
  }

  async metrics(id: string, query: MetricsQuery) {
    await this.require(id);
    return this.metricsService.query(id, query);
  }

  /** When the device went online and offline, newest first. */
  async connectivityEvents(id: string, limit: number, offset: number) {
    await this.require(id);
    const { items, total } = await this.connectivity.list(id, limit, offset);
    return { items: items.map((e) => ({ state: e.state, at: e.at.toISOString() })), total, limit, offset };
  }

  /** Creates the device entry and its first claim code, bound to organization, site and type. */
  async create(actor: Actor, input: { name: string; organizationId: string; siteId: string; type: DeviceType }) {
    const org = await this.organizations.get(input.organizationId);
    this.assertMayChange(actor, org.kind);
    const site = await this.organizations.getSite(input.siteId);
    if (site.organizationId !== org.id) throw new AppError('DEVICE_SITE_MISMATCH', `site ${site.name} belongs to another organization`);
    let created;
    try {
      created = await this.devices.insert({ ...input, modules: defaultModules(input.type) });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_devices_organization_name_lower'))
        throw new AppError('DEVICE_NAME_TAKEN', `${org.name} already has a device named "${input.name}"`);
      // Deleted since it was read above (the delete committed while the insert waited for it).
      if (isForeignKeyViolation(error, 'fk_devices_site')) throw new AppError('SITE_NOT_FOUND', `no site with id ${input.siteId}`);
      if (isForeignKeyViolation(error, 'fk_devices_organization'))
        throw new AppError('ORGANIZATION_NOT_FOUND', `no organization with id ${input.organizationId}`);
      throw error;
    }
    requestContext.annotate({ resourceId: created.id });
    const claimCode = await this.issue(actor, created.id);
    this.live.announceAfterCommit(
      { id: created.id, status: 'pending' },
      {
        type: 'device.created',
        severity: 'info',
        at: created.createdAt.toISOString(),
        details: { name: created.name, organizationId: org.id, siteId: site.id, type: created.type },
      },
    );
    return {
      device: toDeviceDto(Object.assign(created, { organizationKind: org.kind, headline: null }), this.config.API_AGENT_HEARTBEAT_SECONDS),
      claimCode,
    };
  }

  /** A new code for a pending device; earlier unused codes stop working. */
  async issueClaimCode(actor: Actor, deviceId: string) {
    // Under the device lock, so an enrollment in flight either finishes first (no longer pending) or waits.
    const device = await this.require(deviceId, { lock: true });
    this.assertMayChange(actor, device.organizationKind);
    if (device.status !== 'pending') throw new AppError('DEVICE_NOT_PENDING', `device ${device.name} is ${device.status}`);
    const replaced = await this.claimCodes.revokeOpenForDevice(deviceId);
    requestContext.annotate({ resourceId: deviceId, details: { replacedCodes: replaced } });
    return this.issue(actor, deviceId);
  }

  async listClaimCodes(filter: Parameters<ClaimCodesRepository['list']>[0]) {
    const { items, total } = await this.claimCodes.list(filter);
    return { items: items.map(toClaimCodeDto), total, limit: filter.limit, offset: filter.offset };
  }

  async revokeClaimCode(actor: Actor, id: string) {
    const code = await this.claimCodes.findById(id);
    if (!code) throw new AppError('CLAIM_CODE_NOT_FOUND', `no claim code with id ${id}`);
    const device = await this.require(code.deviceId, { lock: true });
    this.assertMayChange(actor, device.organizationKind);
    await this.claimCodes.revoke(id);
    requestContext.annotate({ details: { deviceId: device.id } });
    return toClaimCodeDto((await this.claimCodes.findById(id))!);
  }

  /**
   * Cuts a device off at once: hub peer removed, credential void, address quarantined, open
   * codes revoked. `retired` is the same for a decommissioned device.
   */
  // Device row first, then its codes and lease: the lock order of enrollment (enrollment.service.ts).
  async endService(actor: Actor, id: string, status: 'revoked' | 'retired') {
    const device = await this.devices.findById(id, { lock: true });
    if (!device) throw new AppError('DEVICE_NOT_FOUND', `no device with id ${id}`);
    this.assertMayChange(actor, device.organizationKind);
    if (device.status === 'revoked' || device.status === 'retired')
      throw new AppError('DEVICE_ALREADY_REVOKED', `device ${device.name} is ${device.status}`);
    await this.devices.update(id, { status, credentialHash: null, revokedAt: new Date() });
    await this.overlay.release(id);
    await this.claimCodes.revokeOpenForDevice(id);
    // Inside the transaction: if the hub cannot drop the peer, nothing changes and the operator sees why.
    if (device.status === 'active') {
      await this.hub.sync();
      requestContext.afterCommit(() => this.hub.sync());
    }
    requestContext.annotate({ details: { previousStatus: device.status, overlayAddress: device.overlayAddress } });
    const at = new Date();
    await this.events.append({
      deviceId: id,
      type: `device.${status}`,
      severity: status === 'revoked' ? 'warning' : 'info',
      at,
      details: { previousStatus: device.status, overlayAddress: device.overlayAddress, by: actor.email },
    });
    this.live.announceAfterCommit(
      { id, status },
      {
        type: `device.${status}`,
        severity: status === 'revoked' ? 'warning' : 'info',
        at: at.toISOString(),
        details: { previousStatus: device.status },
      },
    );
    return this.get(id);
  }

  private async issue(actor: Actor, deviceId: string) {
    const code = newClaimCode();
    const entity = await this.claimCodes.insert({
      deviceId,
      codeHash: hashClaimCode(this.claimKey, code),
      createdBy: actor.userId,
      expiresAt: new Date(Date.now() + this.config.API_CLAIM_CODE_TTL_SECONDS * 1000),
    });
    const api = `${this.config.API_PUBLIC_URL.replace(/\/$/, '')}/api/v1`;
    return {
      ...toClaimCodeDto(entity),
      code,
      bootstrapCommand: `curl -fsSL ${api}/agent/bootstrap.sh | sudo bash -s -- --claim ${code} --api ${api}`,
    };
  }

  /**
   * With `lock`, the device row is locked before anything of the device (claim codes, lease):
   * every path that changes a device and its codes takes them in this order, so none deadlock.
   */
  private async require(id: string, options: { lock?: boolean } = {}): Promise<DeviceRow> {
    const device = await this.devices.findById(id, options);
    if (!device) throw new AppError('DEVICE_NOT_FOUND', `no device with id ${id}`);
    return device;
  }

  private assertMayChange(actor: Actor, kind: OrganizationKind): void {
    if (!canMutateResource(actor.role, kind))
      throw new AppError('AUTH_INTERNAL_READ_ONLY', 'internal infrastructure devices are managed by Super Admins');
  }
}
