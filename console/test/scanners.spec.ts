import { mkdirSync } from 'node:fs';
import { ScannerStatsSchema, type ScannerStats } from '@xspectre/contracts';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlertChanges, AlertsService } from '../../api/src/alerts/alerts.service.js';
import { TEST_PASSWORD } from '../../api/test/support/harness.js';
import { confirmStepUpIfAsked } from './support/backup-runs.js';
import { eventually, signIn, sleep, useConsoleE2e, type TestDevice } from './support/e2e.js';

/** Where the report's screenshots go: beside the alerts page's (console/test/alerts.spec.ts). */
const SHOTS = '/tmp/shots-alerts';
const GiB = 1024 ** 3;
const HOUR = 3_600_000;
const ago = (ms: number) => new Date(Date.now() - ms);
const IMAGE = 'registry.community.greenbone.net/community';
/** gvmd names feed versions by their time, `YYYYMMDDhhmm` (UTC). */
const feedVersionOf = (at: Date) => at.toISOString().replace(/[-T:]/g, '').slice(0, 12);

type Task = ScannerStats['tasks'][number];
type Core = NonNullable<ScannerStats['coreContainers']>[number];

function core(service: Core['service'], tag: string, state = 'running', memoryBytes: number | null = 200e6): Core {
  return {
    service,
    container: `greenbone-community-edition-${service}-1`,
    image: `${IMAGE}/${service}:${tag}`,
    state,
    restartCount: state === 'running' ? 0 : 3,
    startedAt: ago(3 * 24 * HOUR).toISOString(),
    lastOomKillAt: null,
    memoryBytes: state === 'running' ? memoryBytes : null,
  };
}

function task(id: string, name: string, status: string, extra: Partial<Task> = {}): Task {
  return {
    id,
    name,
    status,
    progress: null,
    currentScanStartedAt: null,
    averageDurationSeconds: 3600,
    nextRunAt: null,
    lastReport: null,
    ...extra,
  };
}

function finished(id: string, endedHoursAgo: number, counts: { critical: number | null; high: number; medium: number; low: number }) {
  return {
    id,
    scanStartedAt: ago((endedHoursAgo + 1) * HOUR).toISOString(),
    scanEndedAt: ago(endedHoursAgo * HOUR).toISOString(),
    counts: { ...counts, log: 12, falsePositive: 0 },
    errorCount: 0,
  };
}

/** A scanner's GMP report as the agent's collector makes it (agent/src/gmp/collect.ts), checked against the contract. */
function stats(o: {
  collectedAt?: Date;
  nvtHours?: number;
  scapHours?: number;
  tasks: Task[];
  ospd?: { tag: string; state: string };
  scannerReachable?: boolean;
  redisBytes?: number;
  dockerUsedPercent?: number;
  defaultAdminPassword?: boolean | null;
}): ScannerStats {
  const feed = (type: string, hours: number) => ({
    type,
    version: feedVersionOf(ago(hours * HOUR)),
    isSyncing: false,
    syncingSince: null,
    syncError: null,
  });
  const ospd = o.ospd ?? { tag: '22.7.1', state: 'running' };
  return ScannerStatsSchema.parse({
    collectedAt: (o.collectedAt ?? ago(5_000)).toISOString(),
    gmp: { reachable: true, error: null, latencyMs: 14, version: '22.5', features: null },
    feeds: [feed('NVT', o.nvtHours ?? 6), feed('SCAP', o.scapHours ?? 20), feed('CERT', 20)],
    feedOwnerSet: true,
    scanners: [
      {
        id: '08b69003-5fc2-4037-a479-93b440211c73',
        name: 'OpenVAS Default',
        type: '2',
        reachable: o.scannerReachable ?? true,
        version: o.scannerReachable === false ? null : 'OTP/2.0',
      },
    ],
    tasks: o.tasks,
    tasksTruncated: false,
    totals: { tasks: o.tasks.length, targets: 3, credentials: 1, reports: 20 },
    discovery: { method: 'compose', composeProject: 'greenbone-community-edition', gvmd: 'greenbone-community-edition-gvmd-1' },
    account: 'monitor',
    coreContainers: [
      core('gvmd', '24.1.3'),
      core('ospd-openvas', ospd.tag, ospd.state),
      core('redis-server', '1.1.0', 'running', o.redisBytes ?? 1 * GiB),
      core('pg-gvm', '16.4.0'),
    ],
    dockerData: { path: '/var/lib/docker', usedBytes: Math.round(((o.dockerUsedPercent ?? 41) / 100) * 100 * GiB), totalBytes: 100 * GiB },
    hostMemoryBytes: 8 * GiB,
    defaultAdminPassword: o.defaultAdminPassword ?? false,
  });
}

/**
 * The Scanner Ops page and a scanner's Scanner tab against the real API: four scanners report
 * through the agent route (two healthy, one with a ten-day-old NVT feed, one whose scan has
 * waited `Requested` for 40 minutes while ospd-openvas is down); the rows, their colours, each
 * filter, a live update, the tab's feeds, tasks and containers, "refresh now" queuing a signed
 * `scanner.refresh`, and what a SOC operator and a Read-Only operator are (not) offered.
 */
describe('console: scanner ops', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });
  let hamburgId = '';
  const s: Record<'healthy1' | 'healthy2' | 'staleFeed' | 'stuck', TestDevice> = {} as never;

  /** Sends a report in a heartbeat and waits until the API stored it (it is stored after the heartbeat's commit). */
  async function report(device: TestDevice, scannerStats: ScannerStats): Promise<void> {
    await device.heartbeat({ scannerStats });
    // A loop, not expect.poll: this runs in beforeAll.
    for (let i = 0; i < 200; i++) {
      const r = await e.api.request('GET', `devices/${device.id}/scanner`, { token: e.admin });
      if (r.status === 200 && r.body.stats.collectedAt === scannerStats.collectedAt) return;
      await sleep(100);
    }
    throw new Error(`the report of ${device.name} was not stored`);
  }

  /** Opens a built-in scanner rule's alert as the engine's evaluation would (console/test/alerts.spec.ts does the same). */
  async function openAlert(device: TestDevice, ruleKey: string, severity: 'warning' | 'critical', title: string, subject: string) {
    const { rows } = await e.api.sql.query<{ id: string; site_id: string }>(
      `SELECT r.id, d.site_id FROM alert_rules r, devices d WHERE r.key = $1 AND r.scope_kind = 'global' AND d.id = $2`,
      [ruleKey, device.id],
    );
    expect(rows, ruleKey).toHaveLength(1);
    const service = e.api.app.get(AlertsService);
    const changes = new AlertChanges();
    await service.open(
      [
        {
          ruleId: rows[0]!.id,
          ruleKey,
          kind: 'scanner',
          severity,
          deviceId: device.id,
          organizationId: e.organizationId,
          siteId: rows[0]!.site_id,
          subject,
          title,
          details: {},
        },
      ],
      new Date(),
      changes,
    );
    await service.publish(changes);
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const site = await e.api.request('POST', 'sites', {
      token: e.admin,
      body: { organizationId: e.organizationId, name: 'Hamburg Port', timeZone: 'Europe/Berlin' },
    });
    expect(site.status, site.text).toBe(201);
    hamburgId = site.body.id;
    s.healthy1 = await e.enrollDevice('acme-scanner-berlin');
    const created = await e.api.request('POST', 'devices', {
      token: e.admin,
      body: { name: 'acme-scanner-hamburg', organizationId: e.organizationId, siteId: hamburgId, type: 'scanner' },
    });
    expect(created.status, created.text).toBe(201);
    s.healthy2 = await e.enroll(created.body.claimCode.code, 'acme-scanner-hamburg', 'acme-scanner-hamburg');
    s.staleFeed = await e.enrollDevice('acme-scanner-stale-feed');
    s.stuck = await e.enrollDevice('acme-scanner-stuck-scan');

    await report(
      s.healthy1,
      stats({
        tasks: [
          task('b9a1e0c4-0001-4c8e-9d1a-000000000001', 'Weekly DMZ', 'Running', {
            progress: 40,
            currentScanStartedAt: ago(0.5 * HOUR).toISOString(),
          }),
          task('b9a1e0c4-0001-4c8e-9d1a-000000000002', 'Nightly LAN', 'Done', {
            nextRunAt: new Date(Date.now() + 4 * HOUR).toISOString(),
            lastReport: finished('d2c4a9e1-0001-4f1e-8a7b-000000000001', 20, { critical: 1, high: 3, medium: 7, low: 2 }),
          }),
        ],
      }),
    );
    await report(
      s.healthy2,
      stats({
        tasks: [
          task('b9a1e0c4-0002-4c8e-9d1a-000000000001', 'Port LAN', 'Done', {
            nextRunAt: new Date(Date.now() + 20 * HOUR).toISOString(),
            lastReport: finished('d2c4a9e1-0002-4f1e-8a7b-000000000001', 48, { critical: 0, high: 1, medium: 2, low: 0 }),
          }),
        ],
      }),
    );
    // An abandoned scanner: NVT ten days old (critical), SCAP nine (warning), nothing scanned for 12 days, the disk and Redis filling.
    await report(
      s.staleFeed,
      stats({
        nvtHours: 240,
        scapHours: 216,
        redisBytes: Math.round(4.4 * GiB),
        dockerUsedPercent: 83,
        defaultAdminPassword: true,
        tasks: [
          task('b9a1e0c4-0003-4c8e-9d1a-000000000001', 'Monthly full', 'Done', {
            lastReport: finished('d2c4a9e1-0003-4f1e-8a7b-000000000001', 12 * 24, { critical: 2, high: 9, medium: 14, low: 3 }),
          }),
        ],
      }),
    );
    // Requested for 40 minutes: a first report from then, then the current one; ospd-openvas (an older image) has exited.
    const stuckReport = (collectedAt: Date) =>
      stats({
        collectedAt,
        ospd: { tag: '22.4.1', state: 'exited' },
        scannerReachable: false,
        tasks: [task('b9a1e0c4-0004-4c8e-9d1a-000000000001', 'Nightly servers', 'Requested', { averageDurationSeconds: 5400 })],
      });
    await report(s.stuck, stuckReport(ago(40 * 60_000)));
    await report(s.stuck, stuckReport(ago(5_000)));
    await openAlert(s.staleFeed, 'scanner-nvt-feed-critical', 'critical', 'NVT feed very stale', 'NVT');
    await openAlert(s.stuck, 'scanner-task-requested-warning', 'warning', 'Scan stuck in Requested', 'Nightly servers');
  }, 120_000);

  const row = (p: Page, d: TestDevice) => p.locator(`tr[data-device-id="${d.id}"]`);
  const shownIds = (p: Page) =>
    p.locator('[data-testid="scanners-table"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id')));
  const feedAge = (p: Page, d: TestDevice, feed: string) => row(p, d).locator(`[data-testid="feed-age"][data-feed="${feed}"]`);

  it('lists every scanner with its state, coloured by the thresholds, and filters them', async () => {
    const { page } = e;
    await page.goto(`${e.web.url}/scanners`);
    const nav = page.getByRole('link', { name: 'Scanner Ops', exact: true });
    await eventually(() => nav.getAttribute('aria-current')).toBe('page');
    await eventually(() => page.locator('[data-testid="scanners-table"] tbody tr').count()).toBe(4);
    expect(await row(page, s.healthy1).innerText()).toContain('Acme Security GmbH / Berlin HQ');
    expect(await row(page, s.healthy2).innerText()).toContain('Acme Security GmbH / Hamburg Port');

    // Feed ages by SCANNER_FEED_AGE_HOURS: the class names carry the level.
    expect(await feedAge(page, s.healthy1, 'NVT').getAttribute('class')).toMatch(/levelOk/);
    expect(await feedAge(page, s.healthy1, 'NVT').innerText()).toMatch(/NVT\s*6 h/);
    expect(await feedAge(page, s.staleFeed, 'NVT').getAttribute('class')).toMatch(/levelCritical/);
    expect(await feedAge(page, s.staleFeed, 'NVT').innerText()).toMatch(/NVT\s*10 d/);
    expect(await feedAge(page, s.staleFeed, 'SCAP').getAttribute('class')).toMatch(/levelWarning/);
    expect(await feedAge(page, s.staleFeed, 'CERT').getAttribute('class')).toMatch(/levelOk/);

    // Tasks, the last week's results, disk and Redis, containers, versions, GMP and the scanner daemon.
    expect(await row(page, s.healthy1).getByTestId('tasks').innerText()).toMatch(/^1 running\s+0 queued$/);
    expect(await row(page, s.stuck).getByTestId('tasks').innerText()).toMatch(/^0 running\s+1 queued$/);
    expect(await row(page, s.healthy1).getByTestId('severity-counts').innerText()).toMatch(/C 1\s*H 3\s*M 7\s*L 2/);
    expect(await row(page, s.staleFeed).getByTestId('severity-counts').innerText()).toMatch(/C 0\s*H 0\s*M 0\s*L 0/);
    expect(await row(page, s.healthy1).getByTestId('last-scan').innerText()).toBe('20 h ago');
    expect(await row(page, s.healthy1).getByTestId('next-run').innerText()).toMatch(/^in [34] h$/);
    expect(await row(page, s.healthy1).getByTestId('docker-data').innerText()).toBe('41 %');
    expect(await row(page, s.healthy1).getByTestId('docker-data').getAttribute('class')).toMatch(/levelOk/);
    expect(await row(page, s.staleFeed).getByTestId('docker-data').getAttribute('class')).toMatch(/levelWarning/);
    expect(await row(page, s.healthy1).getByTestId('redis-memory').innerText()).toBe('13 %');
    expect(await row(page, s.staleFeed).getByTestId('redis-memory').innerText()).toBe('55 %');
    expect(await row(page, s.staleFeed).getByTestId('redis-memory').getAttribute('class')).toMatch(/levelWarning/);
    const dots = (d: TestDevice) =>
      row(page, d)
        .locator('[data-testid="container-strip"] [data-service]')
        .evaluateAll((els) =>
          els.map(
            (el) => `${el.getAttribute('data-service')}:${el.getAttribute('class')?.match(/level(Ok|Warning|Critical|Unknown)/)?.[1]}`,
          ),
        );
    expect(await dots(s.healthy1)).toEqual(['gvmd:Ok', 'ospd-openvas:Ok', 'redis-server:Ok', 'pg-gvm:Ok']);
    expect(await dots(s.stuck)).toEqual(['gvmd:Ok', 'ospd-openvas:Critical', 'redis-server:Ok', 'pg-gvm:Ok']);
    expect(await row(page, s.stuck).getByTestId('scanner-state').innerText()).toContain('scanner exited');
    expect(await row(page, s.healthy1).getByTestId('gmp-state').innerText()).toContain('GMP 22.5');
    expect(await row(page, s.stuck).getByTestId('versions').innerText()).toContain('ospd 22.4.1');
    expect(await row(page, s.stuck).getByTestId('drift').count()).toBe(1);
    expect(await row(page, s.healthy1).getByTestId('drift').count()).toBe(0);
    expect(await row(page, s.healthy1).getByTestId('stale').count()).toBe(0);
    expect(await row(page, s.stuck).getByTestId('open-alerts').innerText()).toBe('1 open');
    expect(await row(page, s.healthy1).getByTestId('open-alerts').innerText()).toBe('none');

    await page.screenshot({ path: `${SHOTS}/scanner-ops.png`, fullPage: true });

    // Each filter, in the URL and kept on reload.
    const filterTo = async (value: string, expected: TestDevice[]) => {
      await page.getByLabel('Filter scanners').selectOption(value);
      await page.waitForURL(new RegExp(`filter=${value}`));
      await eventually(async () => (await shownIds(page)).sort()).toEqual(expected.map((d) => d.id).sort());
    };
    await filterTo('stale_feeds', [s.staleFeed]);
    // Failing: ospd-openvas down (stuck), or a scanner alert open (both).
    await filterTo('failing', [s.staleFeed, s.stuck]);
    await filterTo('idle', [s.staleFeed]);
    await filterTo('version_drift', [s.stuck]);
    await page.reload();
    await eventually(() => shownIds(page)).toEqual([s.stuck.id]);
    expect(await page.getByLabel('Filter scanners').inputValue()).toBe('version_drift');
    await page.getByLabel('Filter scanners').selectOption('');
    await page.waitForURL((url) => !url.search.includes('filter='));
    await page.getByLabel('Site').selectOption(hamburgId);
    await page.waitForURL(/siteId=/);
    await eventually(() => shownIds(page)).toEqual([s.healthy2.id]);
    await page.getByLabel('Site').selectOption('');
    await eventually(() => page.locator('[data-testid="scanners-table"] tbody tr').count()).toBe(4);

    // Live: a new report on a scanner on screen updates its row without a reload.
    await s.healthy2.heartbeat({
      scannerStats: stats({
        tasks: [
          task('b9a1e0c4-0002-4c8e-9d1a-000000000001', 'Port LAN', 'Running', {
            progress: 3,
            currentScanStartedAt: ago(60_000).toISOString(),
          }),
        ],
      }),
    });
    await eventually(() => row(page, s.healthy2).getByTestId('tasks').innerText(), { timeout: 20_000 }).toMatch(/^1 running\s+0 queued$/);

    // A row leads to the scanner's tab.
    await row(page, s.staleFeed).getByRole('link', { name: 'acme-scanner-stale-feed' }).click();
    await page.waitForURL(`${e.web.url}/devices/${s.staleFeed.id}/scanner`);
  });

  it("shows a scanner's feeds, tasks, containers and timeline; refresh now queues a signed command", async () => {
    const { page } = e;
    // The stale-feed scanner: NVT critical, the admin/admin banner, its containers all running.
    await page.goto(`${e.web.url}/devices/${s.staleFeed.id}/scanner`);
    const tab = page.getByRole('link', { name: 'Scanner', exact: true });
    await eventually(() => tab.getAttribute('aria-current')).toBe('page');
    const feeds = page.getByTestId('scanner-feeds');
    await eventually(() => feeds.locator('tbody tr').count()).toBe(3);
    expect(await feeds.locator('tr[data-feed="NVT"] [data-testid="feed-age"]').getAttribute('class')).toMatch(/levelCritical/);
    expect(await feeds.locator('tr[data-feed="NVT"]').innerText()).toContain(feedVersionOf(ago(240 * HOUR)).slice(0, 8));
    expect(await feeds.locator('tr[data-feed="SCAP"] [data-testid="feed-age"]').getAttribute('class')).toMatch(/levelWarning/);
    expect(await feeds.locator('tr[data-feed="CERT"] [data-testid="feed-age"]').getAttribute('class')).toMatch(/levelOk/);
    expect(await page.getByTestId('problem').first().innerText()).toContain('gvmd still accepts admin / admin');
    const containers = page.getByTestId('scanner-containers');
    expect(await containers.getByTestId('container-state').allInnerTexts()).toEqual(['running', 'running', 'running', 'running']);
    expect(await page.getByTestId('scanner-tasks').getByTestId('task-status').allInnerTexts()).toEqual(['Done']);
    expect(await page.getByTestId('scanner-timeline').innerText()).toMatch(/NVT feed \d{12}/);
    await eventually(() => page.getByTestId('scanner-timeline').innerText()).toContain('NVT feed very stale (NVT)');
    expect(await page.getByTestId('report-summary').count()).toBe(1);
    await page.screenshot({ path: `${SHOTS}/scanner-tab-stale-feed.png`, fullPage: true });

    // The stuck scan: Requested since 40 minutes, ospd-openvas exited, the scanner unreachable.
    await page.goto(`${e.web.url}/devices/${s.stuck.id}/scanner`);
    const tasks = page.getByTestId('scanner-tasks');
    await eventually(() => tasks.getByTestId('task-status').allInnerTexts()).toEqual(['Requested']);
    expect(await tasks.getByTestId('task-since').innerText()).toMatch(/^since 4\d m ago$/);
    expect(await tasks.getByTestId('task-since').getAttribute('class')).toMatch(/levelWarning/);
    expect(await page.getByTestId('scanner-containers').locator('tr[data-service="ospd-openvas"]').innerText()).toContain('exited');
    expect(await page.getByTestId('scanner-scanners').innerText()).toContain('unreachable');
    await eventually(() => page.getByTestId('scanner-timeline').innerText()).toContain('Scan stuck in Requested (Nightly servers)');
    await page.screenshot({ path: `${SHOTS}/scanner-tab-stuck-scan.png`, fullPage: true });

    // A running scan: its progress and its duration against the average.
    await page.goto(`${e.web.url}/devices/${s.healthy1.id}/scanner`);
    const running = page.locator('tr[data-task-id="b9a1e0c4-0001-4c8e-9d1a-000000000001"]');
    await eventually(() => running.getByTestId('task-progress').getAttribute('aria-valuenow')).toBe('40');
    expect(await running.getByTestId('task-duration').innerText()).toMatch(/^3\d m \/ 1 h 0 m$/);

    // Refresh now: confirmed, then queued as a signed scanner.refresh for this device.
    await page.getByRole('button', { name: 'Refresh now' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Refresh now' }).click();
    await eventually(() => page.getByTestId('queued-commands').innerText()).toContain('Refresh now');
    const commands = await e.api.request('GET', `devices/${s.healthy1.id}/commands`, { token: e.admin });
    expect(commands.status, commands.text).toBe(200);
    expect(commands.body.items.map((c: { action: string; params: unknown }) => [c.action, c.params])).toContainEqual([
      'scanner.refresh',
      {},
    ]);

    // A report summary on request (scanner_results.view, step-up), answered by the agent's command result.
    const reportId = 'd2c4a9e1-0001-4f1e-8a7b-000000000001';
    const summaryCard = page.getByTestId('report-summary');
    await summaryCard.getByLabel('Report id').fill('not-a-uuid');
    await summaryCard.getByRole('button', { name: 'Request report summary' }).click();
    await eventually(() => summaryCard.innerText()).toContain('a report id (UUID) as gvmd shows it');
    await summaryCard.getByLabel('Report id').fill(reportId);
    await summaryCard.getByRole('button', { name: 'Request report summary' }).click();
    await confirmStepUpIfAsked(e, page);
    const summaryView = page.getByTestId('report-summary-view');
    await eventually(() => summaryView.innerText()).toMatch(/queued|delivered/);
    const polled = await e.api.request('GET', 'agent/commands?waitSeconds=0', { token: s.healthy1.credential });
    const command = (polled.body.commands as Array<{ commandId: string; action: string; params: { reportId: string } }>).find(
      (c) => c.action === 'scanner.report-summary' && c.params.reportId === reportId,
    );
    expect(command, polled.text).toBeDefined();
    const summary = {
      reportId,
      taskName: 'Nightly LAN',
      scanStartedAt: ago(21 * HOUR).toISOString(),
      scanEndedAt: ago(20 * HOUR).toISOString(),
      counts: { critical: 1, high: 3, medium: 7, low: 2, log: 12, falsePositive: 0 },
      hostCount: 14,
      topFindings: [
        { nvtOid: '1.3.6.1.4.1.25623.1.0.900001', name: 'Example critical finding', severity: 10, hosts: 2 },
        { nvtOid: '1.3.6.1.4.1.25623.1.0.900002', name: 'Example medium finding', severity: 5.3, hosts: 9 },
      ],
    };
    const status = (body: unknown) =>
      e.api.request('POST', `agent/commands/${command!.commandId}/status`, { token: s.healthy1.credential, body });
    expect((await status({ status: 'running' })).status).toBe(200);
    const done = await status({ status: 'succeeded', exitCode: 0, stdout: `${JSON.stringify(summary)}\n` });
    expect(done.status, done.text).toBe(200);
    await eventually(() => summaryView.innerText(), { timeout: 20_000 }).toContain('Example critical finding');
    const shown = await summaryView.innerText();
    expect(shown).toContain('succeeded');
    expect(shown).toContain('14 hosts');
    expect(shown).toMatch(/C 1\s*H 3\s*M 7\s*L 2/);
    expect(shown).toContain('kept for 24 hours');

    // The site's feed update schedule: a bad form is refused with the contract's message, a good one saved.
    const schedule = page.getByTestId('feed-schedule');
    await eventually(() => schedule.innerText()).toContain('No schedule');
    await schedule.getByRole('button', { name: 'Set a schedule…' }).click();
    const form = page.getByTestId('feed-schedule-form');
    await form.getByLabel('Sun').uncheck();
    await form.getByRole('button', { name: 'Save schedule' }).click();
    await eventually(() => form.innerText()).toContain('name at least one weekday');
    await form.getByLabel('Mon').check();
    await form.getByLabel('Thu').check();
    await form.getByLabel('Jitter (minutes)').fill('500');
    await form.getByRole('button', { name: 'Save schedule' }).click();
    await eventually(() => form.innerText()).toMatch(/jitterMinutes: .*240/);
    await form.getByLabel('Jitter (minutes)').fill('30');
    await form.getByLabel('Hour (UTC)').fill('4');
    await form.getByRole('button', { name: 'Save schedule' }).click();
    await eventually(() => page.getByTestId('feed-schedule-text').innerText()).toContain('Mon, Thu at 04:00 UTC, up to 30 min later');
    const saved = await e.api.request('GET', `sites/${e.siteId}/scanner-feed-schedule`, { token: e.admin });
    expect(saved.body.schedule).toEqual({ enabled: true, weekdays: [1, 4], hourUtc: 4, jitterMinutes: 30, pruneOldImages: true });

    // A server has no Scanner tab.
    const server = await e.createDevice('acme-server-01', 'server');
    await page.goto(`${e.web.url}/devices/${server}`);
    await page.getByTestId('device-tabs').waitFor();
    expect(await page.getByTestId('device-tabs').innerText()).not.toContain('Scanner');
  });

  it('offers a SOC operator the actions but no report summary, and a Read-Only operator no action at all', async () => {
    const soc = await e.api.createUser(e.admin, 'soc_operator');
    const { context: socContext, page: p1 } = await e.newPage();
    await p1.goto(`${e.web.url}/devices/${s.stuck.id}/scanner`);
    await signIn(p1, soc.email, TEST_PASSWORD);
    await p1.waitForURL(`${e.web.url}/devices/${s.stuck.id}/scanner`);
    await p1.getByTestId('scanner-tasks').waitFor();
    await p1.getByRole('button', { name: 'Refresh now' }).waitFor();
    expect(await p1.getByRole('button', { name: /Provision monitor account/ }).count()).toBe(0);
    expect(await p1.getByTestId('report-summary').count()).toBe(0);
    await socContext.close();

    const reader = await e.api.createUser(e.admin, 'read_only');
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/scanners`);
    await signIn(p, reader.email, TEST_PASSWORD);
    await p.waitForURL(`${e.web.url}/scanners`);
    await eventually(() => p.locator('[data-testid="scanners-table"] tbody tr').count()).toBe(4);
    await p.goto(`${e.web.url}/devices/${s.stuck.id}/scanner`);
    await p.getByTestId('scanner-tasks').waitFor();
    expect(await p.getByTestId('scanner-containers').count()).toBe(1);
    expect(await p.getByTestId('scanner-actions').count()).toBe(0);
    for (const name of [
      'Refresh now',
      'Restart gvmd',
      'Restart ospd-openvas',
      'Update feeds…',
      'Provision monitor account…',
      'Set a schedule…',
    ])
      expect(await p.getByRole('button', { name }).count(), name).toBe(0);
    expect(await p.getByTestId('report-summary').count()).toBe(0);
    // The site's feed schedule is shown (devices.view), without a way to change it.
    await p.getByTestId('feed-schedule').waitFor();
    expect(await p.getByTestId('feed-schedule').getByRole('button').count()).toBe(0);
    await context.close();
  });

  it('greys a scanner whose last report is older than two polls and says it is stale', async () => {
    const { page } = e;
    await e.api.sql.query(`UPDATE scanner_snapshots SET collected_at = now() - interval '30 minutes' WHERE device_id = $1`, [
      s.healthy2.id,
    ]);
    await page.goto(`${e.web.url}/scanners`);
    await eventually(() => row(page, s.healthy2).getAttribute('data-stale')).toBe('true');
    expect(await row(page, s.healthy2).getByTestId('stale').innerText()).toBe('stale');
    expect(await row(page, s.healthy2).getAttribute('class')).toMatch(/stale/);
    expect(await row(page, s.healthy1).getAttribute('data-stale')).toBe('false');
    await page.goto(`${e.web.url}/devices/${s.healthy2.id}/scanner`);
    await eventually(() => page.getByTestId('stale-report').innerText()).toContain('Stale: this report was collected 30 m ago');
  });
});
