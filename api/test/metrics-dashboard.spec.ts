import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiMetricsService } from '../src/metrics/api-metrics.service.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';
import { ROOT } from './support/built-process.js';
import { TestApi } from './support/harness.js';
import { hasPromtool, PROMTOOL } from './support/metrics-text.js';

const DASHBOARD = join(ROOT, 'infra/grafana/xspectre-dashboard.json');
/** The backup server's metrics, as built (`npx tsc -b`): another package, loaded from its dist like a built process. */
const BACKUP_METRICS = pathToFileURL(join(ROOT, 'backup-server/dist/metrics.js')).href;

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
}

/** Metric names a `# TYPE` line declares, with a histogram's series names. */
function declaredNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/**
 * infra/grafana/xspectre-dashboard.json against what the API, the worker and the backup server
 * really export: every PromQL expression parses (promtool check rules) and names only their metrics.
 */
describe('Grafana dashboard', () => {
  let dashboard: { __inputs: Array<{ name: string }>; templating: { list: Array<{ name: string; type: string }> }; panels: Panel[] };
  let exported: Set<string>;
  let api: TestApi | undefined;
  let worker: WorkerMetrics | undefined;
  let dir: string;

  const expressions = () => dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  beforeAll(async () => {
    dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8'));
    dir = await mkdtemp(join(tmpdir(), 'xs-dashboard-'));
    api = await TestApi.start({ API_METRICS_LISTEN: '127.0.0.1:0' });
    const apiText = await (await fetch(`http://127.0.0.1:${api.app.get(ApiMetricsService).port}/metrics`)).text();
    worker = await WorkerMetrics.start(api.config.REDIS_URL, { host: '127.0.0.1', port: 0 }, [], () => undefined);
    const workerText = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    const { BackupMetrics } = (await import(BACKUP_METRICS)) as { BackupMetrics: new () => { registry: { metrics(): Promise<string> } } };
    const backupText = await new BackupMetrics().registry.metrics();
    exported = new Set([...declaredNames(apiText), ...declaredNames(workerText), ...declaredNames(backupText)]);
  });

  afterAll(async () => {
    await worker?.close();
    await api?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('takes its Prometheus data source as ${DS_PROMETHEUS} everywhere', () => {
    expect(dashboard.__inputs.map((i) => i.name)).toEqual(['DS_PROMETHEUS']);
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource' }));
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) expect(target.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
    }
    expect(expressions().length).toBeGreaterThan(20);
  });

  it('names only metrics the API, the worker and the backup server export', () => {
    const used = new Set(expressions().flatMap((expr) => expr.match(/\bxspectre_[a-z0-9_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    // Every family the brief asks for has a panel.
    for (const name of [
      'xspectre_http_requests_total',
      'xspectre_http_request_duration_seconds_bucket',
      'xspectre_heartbeats_total',
      'xspectre_heartbeat_commit_submissions_bucket',
      'xspectre_worker_queue_jobs',
      'xspectre_worker_jobs_total',
      'xspectre_live_connections',
      'xspectre_hub_peers',
      'xspectre_hub_oldest_handshake_age_seconds',
      'xspectre_devices',
      'xspectre_backup_received_bytes_total',
      'xspectre_backup_sent_bytes_total',
      'xspectre_backup_pool_bytes',
    ])
      expect(used, name).toContain(name);
  });

  it.skipIf(!hasPromtool)('has expressions that parse (promtool check rules)', async () => {
    // Grafana's interval variables are not PromQL: a fixed window stands in for them.
    const rules = expressions().map((expr, i) => ({ record: `dashboard:expr_${i}`, expr: expr.replaceAll(/\$__(rate_)?interval/g, '5m') }));
    const file = join(dir, 'dashboard-rules.yml');
    // JSON is YAML: promtool reads it as a rule file.
    await writeFile(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    const result = await execa(PROMTOOL, ['check', 'rules', file], { reject: false });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain(`${rules.length} rules found`);
  });

  it.skipIf(!hasPromtool)('would catch a broken expression', async () => {
    const file = join(dir, 'broken-rules.yml');
    await writeFile(
      file,
      JSON.stringify({ groups: [{ name: 'broken', rules: [{ record: 'x:y', expr: 'sum by (route (rate(x[5m]))' }] }] }),
    );
    const result = await execa(PROMTOOL, ['check', 'rules', file], { reject: false });
    expect(result.exitCode).not.toBe(0);
  });
});
