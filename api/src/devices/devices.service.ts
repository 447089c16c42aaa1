import { Inject, Injectable } from '@nestjs/common';
import {
  canMutateResource,
  DEVICE_SORTS,
  isStorableText,
  SUMMARY_WORST_LIMIT,
  type DeviceSummary,
  type DeviceEventType,
  type DeviceModules,
  type DeviceType,
  type OrganizationKind,
} from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/pg-errors.js';
import { keyringOf, keysFor } from '../common/crypto/keyring.js';
import { OrganizationsService } from '../organizations/organizations.service.js';
import { HubService } from '../hub/hub.service.js';
import { OverlayAllocator } from '../hub/overlay-allocator.js';
import { LivePublisher } from '../live/live-publisher.js';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import { AccessChanges } from '../redis/access-changes.js';
import { offlineAfterMs } from './connectivity.js';
import { bootstrapCommand } from './bootstrap-command.js';
import { hashClaimCode, newClaimCode } from './claim-code-text.js';
import { ClaimCodesRepository } from './claim-codes.repository.js';
import { defaultModules, modulesOf } from './device-modules.js';
import { toClaimCodeDto, toDeviceDto } from './devices.mapper.js';
import { DevicesRepository, type DeviceRow } from './devices.repository.js';
import { FleetSummaryCache } from './fleet-summary-cache.js';
import {
  FleetViewRepository,
  SORT_KEYS,
  type DeviceFilter,
  type DevicePosition,
  type SummaryScope,
  type WorstRow,
} from './fleet-view.repository.js';

/** A device row with its organization's kind, as other features get it from `requireDevice`. */
export type DeviceRecord = DeviceRow;

/** What enrollment learns about a device and stores on it. */
export type EnrolledDeviceValues = Pick<
  DeviceRow,
  | 'hostname'
  | 'agentVersion'
  | 'hardware'
  | 'localIps'
  | 'macs'
  | 'wgPublicKey'
  | 'sshHostKey'
  | 'credentialHash'
  | 'fingerprint'
  | 'installationSalt'
  | 'enrolledAt'
>;

/**
 * Told inside the transaction that ends a device's service (revoke, retire), after the device row:
 * a feature holding something of the device (its recovery stick) ends it in the same transaction.
 */
export type EndOfServiceListener = (actor: Actor, deviceId: string, status: 'revoked' | 'retired') => Promise<void>;

@Injectable()
export class DevicesService {
  private readonly endOfServiceListeners: EndOfServiceListener[] = [];
  private readonly claimKey: Buffer;
  /** The current key, then API_SECRET_KEY_PREVIOUS's during a rotation: codes issued before it still enroll. */
  private readonly claimLookupKeys: Buffer[];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly devices: DevicesRepository,
    private readonly fleetView: FleetViewRepository,
    private readonly summaryCache: FleetSummaryCache,
    private readonly claimCodes: ClaimCodesRepository,
    private readonly organizations: OrganizationsService,
    private readonly hub: HubService,
    private readonly overlay: OverlayAllocator,
    private readonly live: LivePublisher,
    private readonly deviceEvents: DeviceEventsService,
    private readonly accessChanges: AccessChanges,
  ) {
    const ring = keyringOf(config);
    this.claimKey = ring.current.claimCodeHmac;
    this.claimLookupKeys = keysFor(ring, 'claimCodeHmac');
  }

  /**
   * A page by offset, or (`cursor`) by keyset: the devices after the previous page's last one in
   * the sort order, so deep pages cost what the first does and rows moving meanwhile neither
   * repeat nor vanish unless their own sort key moves across the position. Every page names the
   * cursor of the next one.
   */
  async list(filter: DeviceFilter & { cursor?: string }) {
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor, filter.sort);
    if (after && filter.offset > 0) throw new AppError('VALIDATION_FAILED', 'cursor and offset cannot be combined: pass one of them');
    const { items, total, last, more } = await this.fleetView.list(filter, offlineAfterMs(this.config.API_AGENT_HEARTBEAT_SECONDS), after);
    return {
      items: items.map((d) => toDeviceDto(d, this.config.API_AGENT_HEARTBEAT_SECONDS)),
      total,
      limit: filter.limit,
      offset: after ? 0 : filter.offset,
      nextCursor: more && last ? encodeCursor(filter.sort, last) : null,
    };
  }

  /**
   * The overview's numbers over the whole fleet (or one organization, site or type), computed
   * once per short interval and scope and shared by every operator (fleet-summary-cache.ts).
   */
  summary(scope: SummaryScope): Promise<DeviceSummary> {
    const key = { organizationId: scope.organizationId, siteId: scope.siteId, type: scope.type };
    return this.summaryCache.get(key, () => this.computeSummary(key));
  }

  /** The fleet changed in a way the summary counts: after the change commits, the next summary is computed anew. */
  private fleetChanged(): void {
    requestContext.afterCommit(async () => this.summaryCache.invalidate());
  }

  private async computeSummary(scope: SummaryScope): Promise<DeviceSummary> {
    const onlineSince = new Date(Date.now() - offlineAfterMs(this.config.API_AGENT_HEARTBEAT_SECONDS));
    const [counts, organizations, worst] = await Promise.all([
      this.fleetView.summaryCounts(scope, onlineSince),
      this.fleetView.organizationCounts(scope, onlineSince),
      this.fleetView.worst(scope, onlineSince, SUMMARY_WORST_LIMIT),
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
    const device = await this.fleetView.findViewById(id);
    if (!device) throw new AppError('DEVICE_NOT_FOUND', `no device with id ${id}`);
    return toDeviceDto(device, this.config.API_AGENT_HEARTBEAT_SECONDS);
  }

  /** Fingerprint changes, hardware changes, journal gaps and lifecycle events, newest first. */
  async events(id: string, filter: { type?: DeviceEventType; limit: number; offset: number }) {
    await this.requireDevice(id);
    return this.deviceEvents.list(id, filter);
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
    this.fleetChanged();
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
    const device = await this.requireDevice(deviceId, { lock: true });
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
    const device = await this.requireDevice(code.deviceId, { lock: true });
    this.assertMayChange(actor, device.organizationKind);
    await this.claimCodes.revoke(id);
    requestContext.annotate({ details: { deviceId: device.id } });
    return toClaimCodeDto((await this.claimCodes.findById(id))!);
  }

  /**
   * Cuts a device off at once: hub peer removed, credential void, address quarantined, open
   * codes revoked. `retired` is the same for a decommissioned device.
   */
  /** Features above devices register here in their module's construction (recovery media). */
  onEndOfService(listener: EndOfServiceListener): void {
    this.endOfServiceListeners.push(listener);
  }

  // Device row first, then its codes and lease: the lock order of enrollment (enrollment.service.ts).
  async endService(actor: Actor, id: string, status: 'revoked' | 'retired') {
    const device = await this.devices.findById(id, { lock: true });
    if (!device) throw new AppError('DEVICE_NOT_FOUND', `no device with id ${id}`);
    this.assertMayChange(actor, device.organizationKind);
    if (device.status === 'revoked' || device.status === 'retired')
      throw new AppError('DEVICE_ALREADY_REVOKED', `device ${device.name} is ${device.status}`);
    await this.devices.update(id, { status, credentialHash: null, pendingCredentialHash: null, revokedAt: new Date() });
    this.fleetChanged();
    await this.overlay.release(id);
    await this.claimCodes.revokeOpenForDevice(id);
    for (const listener of this.endOfServiceListeners) await listener(actor, id, status);
    // Inside the transaction: if the hub cannot drop the peer, nothing changes and the operator sees why.
    if (device.status === 'active') await this.hub.applyWithinTransaction();
    requestContext.annotate({ details: { previousStatus: device.status, overlayAddress: device.overlayAddress } });
    await this.deviceEvents.record(
      {
        deviceId: id,
        type: `device.${status}`,
        severity: status === 'revoked' ? 'warning' : 'info',
        at: new Date(),
        details: { previousStatus: device.status, overlayAddress: device.overlayAddress, by: actor.email },
      },
      { status },
    );
    this.accessChangedAfterCommit(id);
    return this.get(id);
  }

  /**
   * Enrollment's first step, in its transaction: the device row is locked first, then the code
   * row (the order revoke, retire and new codes use too, so they never deadlock with an
   * enrollment); of many concurrent requests with one code exactly one gets past "unused".
   */
  async lockClaimForEnrollment(claimCode: string): Promise<{ device: DeviceRecord; claimCodeId: string }> {
    // Unknown codes all get the same answer: nobody learns which codes exist.
    const invalid = () => new AppError('CLAIM_CODE_INVALID', 'the claim code is not valid: check it, or ask for a new one');
    let found = null;
    for (const key of this.claimLookupKeys) {
      found = await this.claimCodes.findByHash(hashClaimCode(key, claimCode));
      if (found) break;
    }
    if (!found) throw invalid();
    const device = await this.devices.findById(found.deviceId, { lock: true });
    const code = await this.claimCodes.findByIdForUpdate(found.id);
    if (!code) throw invalid();
    requestContext.annotate({ resourceId: code.deviceId, details: { claimCodeId: code.id } });
    if (code.usedAt) throw new AppError('CLAIM_CODE_USED');
    if (code.revokedAt) throw new AppError('CLAIM_CODE_REVOKED');
    if (code.expiresAt <= new Date()) throw new AppError('CLAIM_CODE_EXPIRED');
    if (!device || device.status !== 'pending')
      throw new AppError('CLAIM_CODE_REVOKED', 'the device of this claim code is no longer waiting for enrollment');
    return { device, claimCodeId: code.id };
  }

  async isWgKeyInUse(wgPublicKey: string): Promise<boolean> {
    return (await this.devices.findByWgPublicKey(wgPublicKey)) !== null;
  }

  /**
   * Enrollment's write, under the locks of `lockClaimForEnrollment`: the address is taken from
   * an ended device that last had it, the device becomes active, the code is used.
   */
  async activateEnrolled(
    deviceId: string,
    claimCodeId: string,
    sourceIp: string | null,
    values: EnrolledDeviceValues & { overlayAddress: string },
  ): Promise<void> {
    await this.devices.releaseAddressOfEnded(values.overlayAddress);
    try {
      // A rotation a previous enrollment left pending must not outlive the new credential.
      await this.devices.update(deviceId, { ...values, pendingCredentialHash: null, status: 'active' });
    } catch (error) {
      // The key check cannot see a concurrent enrollment's uncommitted key; the unique index can.
      if (isUniqueViolation(error, 'uq_devices_wg_public_key')) throw new AppError('ENROLL_KEY_IN_USE');
      throw error;
    }
    await this.claimCodes.markUsed(claimCodeId, sourceIp);
    this.fleetChanged();
  }

  /**
   * The agent API's credential check: the active device holding this credential, if any. The
   * first request with a pending credential (credential.rotate) makes it the credential and drops
   * the old one (`promoted`: the caller tells every instance to forget the old one).
   */
  async findActiveByCredentialHash(credentialHash: string): Promise<{ id: string; overlayAddress: string; promoted: boolean } | null> {
    const row = await this.devices.findByCredentialHash(credentialHash);
    if (!row || row.status !== 'active' || !row.overlayAddress) return null;
    // Two first requests at once: one promotes, the other finds it promoted; both are this device.
    const promoted = row.pendingCredentialHash === credentialHash && (await this.devices.promotePendingCredential(row.id, credentialHash));
    return { id: row.id, overlayAddress: row.overlayAddress, promoted };
  }

  /**
   * Stores the hash of the credential a device's `credential.rotate` made; the current one stays
   * valid until the first request with the new one. The same credential again is a retry; a
   * credential some device holds already is refused.
   */
  async setPendingCredential(deviceId: string, credentialHash: string): Promise<void> {
    const device = await this.requireDevice(deviceId, { lock: true });
    if (device.status !== 'active') throw new AppError('DEVICE_NOT_ACTIVE', `device ${device.name} is ${device.status}`);
    if (device.credentialHash === credentialHash) throw new AppError('DEVICE_CREDENTIAL_REFUSED', 'this is the current credential');
    // Checked across both columns (each unique index sees only its own): no credential may name two devices.
    const holder = await this.devices.findByCredentialHash(credentialHash);
    if (holder && !(holder.id === deviceId && holder.pendingCredentialHash === credentialHash))
      throw new AppError('DEVICE_CREDENTIAL_REFUSED', 'another device holds this credential');
    try {
      await this.devices.update(deviceId, { pendingCredentialHash: credentialHash });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_devices_pending_credential_hash') || isUniqueViolation(error, 'uq_devices_credential_hash'))
        throw new AppError('DEVICE_CREDENTIAL_REFUSED', 'another device holds this credential');
      throw error;
    }
  }

  /** Devices that can take a command now (active, not quarantined): a key announcement goes to each. */
  commandableDeviceIds(): Promise<string[]> {
    return this.devices.commandableIds();
  }

  /** Marks a device whose hardware no longer matches its bound fingerprint; an operator ends it (`bindFingerprint`). */
  async quarantine(deviceId: string, at: Date, reason: string): Promise<void> {
    await this.devices.update(deviceId, { quarantinedAt: at, quarantineReason: reason });
    this.fleetChanged();
    this.accessChangedAfterCommit(deviceId);
  }

  /**
   * A different SSH host key the device presented: sessions stay refused until an operator accepts
   * it. The caller holds the device lock and announces the access change once its transaction committed.
   */
  async setPendingSshHostKey(deviceId: string, pending: { key: string; at: Date; source: 'inventory' | 'connection' }): Promise<void> {
    await this.devices.update(deviceId, {
      sshHostKeyPending: pending.key,
      sshHostKeyPendingAt: pending.at,
      sshHostKeyPendingSource: pending.source,
    });
  }

  /** Pins `key` as the device's SSH host key and drops any pending one (the caller holds the device lock). */
  async pinSshHostKey(deviceId: string, key: string): Promise<void> {
    await this.devices.update(deviceId, {
      sshHostKey: key,
      sshHostKeyPending: null,
      sshHostKeyPendingAt: null,
      sshHostKeyPendingSource: null,
    });
  }

  /**
   * Open terminal and file sessions on the device are checked again on every instance once the
   * change committed (api/src/remote-access/open-remote-sessions.ts).
   */
  private accessChangedAfterCommit(deviceId: string): void {
    requestContext.afterCommit(() => this.accessChanges.announce({ kind: 'device', id: deviceId }));
  }

  /** Binds a new hardware fingerprint and ends the quarantine (the caller holds the device lock). */
  async bindFingerprint(deviceId: string, fingerprint: string): Promise<void> {
    await this.devices.update(deviceId, { fingerprint, quarantinedAt: null, quarantineReason: null });
    this.fleetChanged();
  }

  private async issue(actor: Actor, deviceId: string) {
    const code = newClaimCode();
    const entity = await this.claimCodes.insert({
      deviceId,
      codeHash: hashClaimCode(this.claimKey, code),
      createdBy: actor.userId,
      expiresAt: new Date(Date.now() + this.config.API_CLAIM_CODE_TTL_SECONDS * 1000),
    });
    return {
      ...toClaimCodeDto(entity),
      code,
      bootstrapCommand: bootstrapCommand(this.config.API_PUBLIC_URL, code, this.config.API_BOOTSTRAP_PIN),
    };
  }

  /**
   * With `lock`, the device row is locked before anything of the device (claim codes, lease):
   * every path that changes a device and its codes takes them in this order, so none deadlock.
   */
  async requireDevice(id: string, options: { lock?: boolean } = {}): Promise<DeviceRecord> {
    const device = await this.findDevice(id, options);
    if (!device) throw new AppError('DEVICE_NOT_FOUND', `no device with id ${id}`);
    return device;
  }

  findDevice(id: string, options: { lock?: boolean } = {}): Promise<DeviceRecord | null> {
    return this.devices.findById(id, options);
  }

  /** Sets some of a device's modules (what its agent runs); the caller locked the device and checked assertMayChange. */
  async setModules(device: DeviceRecord, changes: Partial<DeviceModules>): Promise<DeviceModules> {
    const modules = { ...modulesOf(device.type, device.modules), ...changes };
    await this.devices.update(device.id, { modules });
    return modules;
  }

  /** The one rule for changing a device or anything of it: internal infrastructure is for Super Admins. */
  assertMayChange(actor: Actor, kind: OrganizationKind): void {
    if (!canMutateResource(actor.role, kind))
      throw new AppError('AUTH_INTERNAL_READ_ONLY', 'internal infrastructure devices are managed by Super Admins');
  }
}

type DeviceSort = (typeof DEVICE_SORTS)[number];
const CURSOR_VERSION = 1;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIMESTAMP_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const NUMBER_KEY = /^-?\d+(\.\d+)?(e[-+]?\d+)?$/;

/** Opaque to clients: the sort it belongs to and the position (sort key as text, id) of the page's last device. */
function encodeCursor(sort: DeviceSort, last: DevicePosition): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, sort, last.key, last.id])).toString('base64url');
}

/** The position a cursor names; anything not made by encodeCursor for this sort is a 400 (never a database error). */
function decodeCursor(cursor: string, sort: DeviceSort): DevicePosition {
  const bad = (why: string) => new AppError('VALIDATION_FAILED', `cursor: ${why}; use the nextCursor of a page, or offset`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor of this list');
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== CURSOR_VERSION) throw bad('not a cursor of this list');
  const [, cursorSort, key, id] = parsed as [number, unknown, unknown, unknown];
  if (cursorSort !== sort) throw bad(`it belongs to sort=${String(cursorSort)}, not sort=${sort}`);
  if (typeof id !== 'string' || !UUID.test(id)) throw bad('not a cursor of this list');
  if (key === null) return { key, id };
  const type = SORT_KEYS[sort.replace(/^-/, '')]!.type;
  const valid =
    typeof key === 'string' &&
    key.length <= 1000 &&
    isStorableText(key) &&
    (type === 'text' ||
      (type === 'float8' && NUMBER_KEY.test(key) && Number.isFinite(Number(key))) ||
      (type === 'timestamptz' && TIMESTAMP_KEY.test(key) && new Date(key).toISOString().slice(0, 23) === key.slice(0, 23)));
  if (!valid) throw bad('not a cursor of this list');
  return { key, id };
}
