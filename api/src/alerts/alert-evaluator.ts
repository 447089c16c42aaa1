import { Inject, Injectable, Logger } from '@nestjs/common';
import { ALERT_RULE_KINDS, FLEET_RULE_KINDS, type AlertRuleKind } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { Database } from '../db/database.js';
import { AgentBuildsService } from '../agent-builds/agent-builds.service.js';
import { offlineAfterMs } from '../devices/connectivity.js';
import { judgeScanner, ladderTop, unitOf } from '../scanners/scanner-checks.js';
import { ScannerHealthService, type ScannerHealth } from '../scanners/scanner-health.service.js';
import { AlertingBackupServersRepository, type AlertingBackupServer } from './alerting-backup-servers.repository.js';
import { AlertingDevicesRepository, type AlertingDevice } from './alerting-devices.repository.js';
import { AlertConditionsRepository, type ConditionKey, type ConditionRow } from './alert-conditions.repository.js';
import { AlertRuleBook } from './alert-rule-book.service.js';
import { AlertChanges, AlertsService, type AlertSpec } from './alerts.service.js';
import { alertTitle } from './alert-titles.js';
import { OutboxReader } from './outbox-reader.js';
import type { EngineRule, RuleBook } from './rule-book.js';

/** One evaluation at a time across every worker and API instance. */
const EVALUATION_LOCK = 0x616c_6572; // 'aler'
/** Outbox rows handled per run; the next run goes on (runs are every 30 s). */
const EVENTS_PER_RUN = 5_000;
const EVENT_PAGE = 500;

export interface EvaluationResult {
  skipped: boolean;
  events: number;
  opened: number;
  resolved: number;
  released: number;
}

const CONDITION_KINDS = ['metric', 'unit', 'container', 'agent_outdated'] as const;
const alertKey = (ruleKey: string, deviceId: string | null, subject: string) => `${ruleKey}|${deviceId ?? ''}|${subject}`;

/**
 * The alert engine's periodic half (the worker's `maintenance.evaluate-alerts`, every 30 s): device
 * events from the outbox, conditions held long enough, offline and tunnel durations, agent builds,
 * fleet-wide offline share, and silences that ended. One transaction, one run at a time.
 */
@Injectable()
export class AlertEvaluator {
  private readonly logger = new Logger(AlertEvaluator.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly rules: AlertRuleBook,
    private readonly alerts: AlertsService,
    private readonly conditions: AlertConditionsRepository,
    private readonly outbox: OutboxReader,
    private readonly devices: AlertingDevicesRepository,
    private readonly builds: AgentBuildsService,
    private readonly backupServers: AlertingBackupServersRepository,
    private readonly scannerHealth: ScannerHealthService,
  ) {}

  async run(now = new Date()): Promise<EvaluationResult> {
    const book = await this.rules.current();
    const servedVersion = (await this.builds.list().catch(() => [])).find((b) => b.current)?.version ?? null;
    const changes = new AlertChanges();
    const result = await this.db.detached(async (manager) => {
      const [{ locked }] = (await manager.query(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [EVALUATION_LOCK])) as [
        { locked: boolean },
      ];
      if (!locked) return { skipped: true, events: 0, opened: 0, resolved: 0, released: 0 };
      const run = new Run(now, book, changes);
      const devices = await this.devices.active();
      run.devices = new Map(devices.map((d) => [d.id, d]));
      for (const open of await this.alerts.unresolvedOfKinds(ALERT_RULE_KINDS)) {
        const key = alertKey(open.ruleKey, open.deviceId, open.subject);
        run.open.set(key, open.id);
        run.openKinds.set(key, open.kind);
      }
      const events = await this.events(run);
      const conditions = await this.agentBuilds(run, servedVersion, await this.conditions.all());
      await this.heldConditions(run, conditions);
      this.deviceStates(run);
      this.fleet(run, devices);
      this.backupStorage(run, await this.backupServers.all());
      this.scanners(run, await this.scannerHealth.load(now));
      this.orphans(run);
      const opened = await this.alerts.open(run.toOpen, now, changes);
      for (const [note, ids] of run.resolutionsByNote()) await this.alerts.resolveAuto(ids, now, changes, note);
      const before = changes.ids.size;
      await this.alerts.releaseEndedSilences(now, changes);
      return { skipped: false, events, opened: opened.length, resolved: run.toResolve.size, released: changes.ids.size - before };
    });
    await this.alerts.publish(changes);
    if (result.opened || result.resolved || result.released) this.logger.log({ msg: 'alerts evaluated', ...result });
    return result;
  }

  /** Device events since the cursor: event rules open alerts; `resolvedBy` events resolve them. */
  private async events(run: Run): Promise<number> {
    let handled = 0;
    while (handled < EVENTS_PER_RUN) {
      const page = await this.outbox.next(EVENT_PAGE);
      if (page.length === 0) break;
      for (const event of page) {
        const device = run.devices.get(event.deviceId);
        if (!device) continue; // revoked or retired since: nothing to alert
        for (const rule of run.book.effectiveFor(device)) {
          if (rule.kind !== 'event') continue;
          const params = (rule as EngineRule<'event'>).params;
          if (params.eventType === event.type) {
            run.openFor(rule, device, '', { ...event.details, eventId: event.id, eventAt: new Date(event.at).toISOString() });
          } else if (params.resolvedBy === event.type) {
            run.resolve(rule.key, device.id, '');
          }
        }
      }
      await this.outbox.advance(page[page.length - 1]!);
      handled += page.length;
      if (page.length < EVENT_PAGE) break;
    }
    return handled;
  }

  /**
   * Devices on another agent build than the one served: a condition, so its duration counts.
   * Returns `conditions` (all of them, as read) with these changes applied.
   */
  private async agentBuilds(run: Run, servedVersion: string | null, conditions: ConditionRow[]): Promise<ConditionRow[]> {
    const existing = new Set(
      conditions.filter((c) => run.book.byId(c.ruleId)?.kind === 'agent_outdated').map((c) => `${c.ruleId}|${c.deviceId}`),
    );
    const inserts: ConditionRow[] = [];
    const deletes: ConditionKey[] = [];
    for (const device of run.devices.values()) {
      for (const rule of run.book.effectiveFor(device)) {
        if (rule.kind !== 'agent_outdated') continue;
        const outdated = servedVersion !== null && device.agentVersion !== null && device.agentVersion !== servedVersion;
        const has = existing.has(`${rule.id}|${device.id}`);
        if (outdated && !has)
          inserts.push({
            ruleId: rule.id,
            deviceId: device.id,
            subject: '',
            since: run.now,
            details: { agentVersion: device.agentVersion, servedVersion },
          });
        else if (!outdated && has) deletes.push({ ruleId: rule.id, deviceId: device.id, subject: '' });
      }
    }
    await this.conditions.insertMany(inserts);
    await this.conditions.deleteMany(deletes);
    const deleted = new Set(deletes.map((d) => `${d.ruleId}|${d.deviceId}|${d.subject}`));
    return [...conditions.filter((c) => !deleted.has(`${c.ruleId}|${c.deviceId}|${c.subject}`)), ...inserts];
  }

  /** Conditions held for their rule's duration open alerts; alerts whose condition is gone resolve. */
  private async heldConditions(run: Run, rows: ConditionRow[]): Promise<void> {
    const stale: ConditionKey[] = [];
    const holding = new Set<string>();
    for (const c of rows) {
      const device = run.devices.get(c.deviceId);
      const rule = run.book.byId(c.ruleId);
      // Not in force for this device any more (disabled, overridden, deleted, device not active).
      if (!device || !rule || !run.book.effectiveFor(device).includes(rule)) {
        stale.push(c);
        continue;
      }
      holding.add(alertKey(rule.key, c.deviceId, c.subject));
      const forSeconds = (rule.params as { forSeconds?: number }).forSeconds ?? 0;
      if (run.now.getTime() - new Date(c.since).getTime() >= forSeconds * 1000)
        run.openFor(rule, device, c.subject, { ...c.details, since: new Date(c.since).toISOString() });
    }
    await this.conditions.deleteMany(stale);
    for (const [key, id] of run.open) {
      const kind = run.openKinds.get(key);
      if (id !== 'pending' && kind && (CONDITION_KINDS as readonly string[]).includes(kind) && !holding.has(key))
        run.toResolve.set(id, null);
    }
  }

  /**
   * Alerts no rule speaks for any more: their device is no longer active, or their rule was
   * disabled, deleted or overridden for the device. Resolved, saying why (condition kinds are
   * handled with their conditions).
   */
  private orphans(run: Run): void {
    for (const [key, id] of run.open) {
      const kind = run.openKinds.get(key);
      if (id === 'pending' || !kind || (CONDITION_KINDS as readonly string[]).includes(kind) || run.toResolve.has(id)) continue;
      const [ruleKey, deviceId] = key.split('|') as [string, string];
      if (FLEET_RULE_KINDS.includes(kind)) {
        if (!run.book.rules.some((r) => r.key === ruleKey && r.enabled)) run.toResolve.set(id, 'the rule is disabled or deleted');
        continue;
      }
      const device = run.devices.get(deviceId);
      if (!device) run.toResolve.set(id, 'the device is no longer active');
      else if (kind !== 'event' && !run.book.effectiveFor(device).some((r) => r.key === ruleKey))
        run.toResolve.set(id, 'the rule no longer applies to this device');
    }
  }

  /**
   * Scanner checks (api/src/scanners/scanner-checks.ts) from every scanner's latest report: per
   * check, the ladder's top breached rule opens and the check's other rules resolve; a held check
   * (device offline, stale report, GMP down, a restart's grace) neither opens nor resolves; an
   * alert whose subject left a complete report (a deleted task) resolves. Rules that no longer
   * apply are orphans()'s.
   */
  private scanners(run: Run, health: Map<string, ScannerHealth>): void {
    const onlineAfter = run.now.getTime() - offlineAfterMs(this.config.API_AGENT_HEARTBEAT_SECONDS);
    const openOf = new Map<string, Array<{ ruleKey: string; subject: string; id: string }>>();
    for (const [key, id] of run.open) {
      if (id === 'pending' || run.openKinds.get(key) !== 'scanner') continue;
      const [ruleKey, deviceId, subject] = key.split('|') as [string, string, string];
      const of = openOf.get(deviceId);
      if (of) of.push({ ruleKey, subject, id });
      else openOf.set(deviceId, [{ ruleKey, subject, id }]);
    }
    for (const [deviceId, input] of health) {
      const device = run.devices.get(deviceId);
      if (!device) continue;
      const byCheck = run.book.scannerRulesFor(device);
      if (byCheck.size === 0) continue;
      const online = device.lastHeartbeatAt !== null && new Date(device.lastHeartbeatAt).getTime() >= onlineAfter;
      const outcomes = judgeScanner({ ...input, online }, run.now, this.config.API_SCANNER_RESTART_GRACE_SECONDS);
      if (!outcomes) continue;
      for (const [check, rules] of byCheck) {
        const outcome = outcomes.get(check);
        if (!outcome || outcome.held) continue;
        const judged = new Set<string>();
        for (const reading of outcome.readings) {
          // A device's list could name a subject twice (a feed, a task): the first one speaks for it.
          if (judged.has(reading.subject)) continue;
          judged.add(reading.subject);
          const top = ladderTop(rules, reading.value);
          for (const rule of rules) if (rule !== top) run.resolve(rule.key, device.id, reading.subject);
          if (top)
            run.openFor(top, device, reading.subject, {
              ...reading.details,
              check,
              value: reading.value,
              threshold: top.params.threshold ?? null,
              unit: unitOf(check),
              summary: reading.summary,
              collectedAt: input.collectedAt.toISOString(),
            });
        }
        if (!outcome.complete) continue;
        const keys = new Set(rules.map((r) => r.key));
        for (const open of openOf.get(device.id) ?? [])
          if (keys.has(open.ruleKey) && !judged.has(open.subject) && !run.toResolve.has(open.id))
            run.toResolve.set(open.id, 'no longer in the scanner report');
      }
    }
  }

  /** Offline for N seconds, tunnel handshake stale: judged from each device's last heartbeat and handshake. */
  private deviceStates(run: Run): void {
    const now = run.now.getTime();
    for (const device of run.devices.values()) {
      if (!device.enrolledAt) continue;
      for (const rule of run.book.effectiveFor(device)) {
        if (rule.kind === 'offline') {
          const last = device.lastHeartbeatAt ?? device.enrolledAt;
          const silentSeconds = Math.floor((now - new Date(last).getTime()) / 1000);
          const breach = silentSeconds >= (rule as EngineRule<'offline'>).params.afterSeconds;
          if (breach)
            run.openFor(rule, device, '', {
              silentSeconds,
              lastHeartbeatAt: device.lastHeartbeatAt ? new Date(device.lastHeartbeatAt).toISOString() : null,
            });
          else run.resolve(rule.key, device.id, '');
        } else if (rule.kind === 'tunnel') {
          const last = device.lastHandshakeAt ?? device.enrolledAt;
          const staleSeconds = Math.floor((now - new Date(last).getTime()) / 1000);
          if (staleSeconds >= (rule as EngineRule<'tunnel'>).params.staleAfterSeconds)
            run.openFor(rule, device, '', {
              staleSeconds,
              lastHandshakeAt: device.lastHandshakeAt ? new Date(device.lastHandshakeAt).toISOString() : null,
            });
          else run.resolve(rule.key, device.id, '');
        }
      }
    }
  }

  /** Backup servers' pools and scrubs (api/src/backups stores their reports); a server no longer reporting resolves its alerts. */
  private backupStorage(run: Run, servers: AlertingBackupServer[]): void {
    const rules = run.book.backupServerRules();
    for (const rule of rules) for (const server of servers) backupStorageRule(run, rule, server);
    const known = new Set(servers.map((s) => s.credentialId));
    for (const [key, id] of run.open) {
      const kind = run.openKinds.get(key);
      const subject = key.split('|')[2] ?? '';
      if (id !== 'pending' && (kind === 'backup_pool' || kind === 'backup_scrub') && !known.has(subject))
        run.toResolve.set(id, 'the backup server no longer reports');
    }
  }

  /** The share of active devices offline, per fleet rule's scope, with hysteresis on the way down. */
  private fleet(run: Run, devices: AlertingDevice[]): void {
    const offlineBefore = run.now.getTime() - offlineAfterMs(this.config.API_AGENT_HEARTBEAT_SECONDS);
    for (const rule of run.book.fleetRules()) {
      const params = rule.params;
      const inScope = devices.filter((d) =>
        rule.scopeKind === 'organization'
          ? d.organizationId === rule.scopeRef
          : rule.scopeKind === 'device_type'
            ? d.type === rule.scopeRef
            : true,
      );
      const offline = inScope.filter((d) => !d.lastHeartbeatAt || new Date(d.lastHeartbeatAt).getTime() < offlineBefore).length;
      const share = inScope.length ? (offline / inScope.length) * 100 : 0;
      const subject = rule.scopeRef;
      const isOpen = run.open.has(alertKey(rule.key, null, subject));
      const clearBelow = params.clearBelowPercent ?? Math.max(0, params.sharePercent - 5);
      if (inScope.length >= params.minDevices && share >= params.sharePercent) {
        run.openFleet(rule, subject, {
          offline,
          total: inScope.length,
          sharePercent: Math.round(share * 10) / 10,
          threshold: params.sharePercent,
          organizationId: rule.scopeKind === 'organization' ? rule.scopeRef : null,
        });
      } else if (isOpen && (inScope.length < params.minDevices || share < clearBelow)) {
        run.resolve(rule.key, null, subject);
      }
    }
  }
}

/**
 * Each backup server's pool share and last scrub, from its latest capacity report: one alert per
 * server (subject: its service credential). The pool resolves below the rule's clear line; a scrub
 * alert resolves when a later scrub finished clean.
 */
function backupStorageRule(run: Run, rule: EngineRule<'backup_pool' | 'backup_scrub'>, server: AlertingBackupServer): void {
  const subject = server.credentialId;
  if (rule.kind === 'backup_pool') {
    const params = (rule as EngineRule<'backup_pool'>).params;
    const share = server.pool.sizeBytes > 0 ? (server.pool.usedBytes / server.pool.sizeBytes) * 100 : 0;
    if (share >= params.usedPercent) {
      const usedPercent = Math.round(share * 10) / 10;
      run.openFleet(rule, subject, { server: server.name, usedPercent, threshold: params.usedPercent, organizationId: null });
    } else if (share < (params.clearBelowPercent ?? Math.max(0, params.usedPercent - 5))) run.resolve(rule.key, null, subject);
    return;
  }
  const minErrors = (rule as EngineRule<'backup_scrub'>).params.minErrors;
  const scrub = server.lastScrub;
  if (scrub?.errors && scrub.errors >= minErrors)
    run.openFleet(rule, subject, { server: server.name, errors: scrub.errors, finishedAt: scrub.finishedAt, organizationId: null });
  else if (scrub?.state === 'finished' && scrub.errors !== null && scrub.errors < minErrors) run.resolve(rule.key, null, subject);
}

/** One evaluation's working state: what is open, what to open and what to resolve. */
class Run {
  devices = new Map<string, AlertingDevice>();
  /** Unresolved alerts by (rule key, device, subject). */
  readonly open = new Map<string, string>();
  readonly openKinds = new Map<string, AlertRuleKind>();
  readonly toOpen: AlertSpec[] = [];
  /** Alert id → the resolution note (null: the condition cleared). */
  readonly toResolve = new Map<string, string | null>();

  constructor(
    readonly now: Date,
    readonly book: RuleBook,
    readonly changes: AlertChanges,
  ) {}

  resolutionsByNote(): Map<string | null, string[]> {
    const byNote = new Map<string | null, string[]>();
    for (const [id, note] of this.toResolve) byNote.set(note, [...(byNote.get(note) ?? []), id]);
    return byNote;
  }

  openFor(rule: EngineRule, device: AlertingDevice, subject: string, details: Record<string, unknown>): void {
    this.add(rule, { deviceId: device.id, organizationId: device.organizationId, siteId: device.siteId }, subject, details);
  }

  /** A fleet alert: no device; an organization when the rule is scoped to one. */
  openFleet(rule: EngineRule, subject: string, details: Record<string, unknown>): void {
    this.add(rule, { deviceId: null, organizationId: (details.organizationId as string | null) ?? null, siteId: null }, subject, details);
  }

  private add(
    rule: EngineRule,
    where: Pick<AlertSpec, 'deviceId' | 'organizationId' | 'siteId'>,
    subject: string,
    details: Record<string, unknown>,
  ): void {
    const key = alertKey(rule.key, where.deviceId, subject);
    if (this.open.has(key)) return;
    this.open.set(key, 'pending');
    this.toOpen.push({
      ruleId: rule.id,
      ruleKey: rule.key,
      kind: rule.kind,
      severity: rule.severity,
      ...where,
      subject,
      title: alertTitle(rule, subject, details),
      details,
    });
  }

  resolve(ruleKey: string, deviceId: string | null, subject: string): void {
    const id = this.open.get(alertKey(ruleKey, deviceId, subject));
    if (id === 'pending') {
      // Opened and cleared within this run (an event and its resolving event in one page): never opened.
      const at = this.toOpen.findIndex((a) => alertKey(a.ruleKey, a.deviceId, a.subject) === alertKey(ruleKey, deviceId, subject));
      if (at >= 0) this.toOpen.splice(at, 1);
      this.open.delete(alertKey(ruleKey, deviceId, subject));
    } else if (id && !this.toResolve.has(id)) this.toResolve.set(id, null);
  }
}
