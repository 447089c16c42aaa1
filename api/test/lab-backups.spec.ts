import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type ContainerDevice, type Lab } from '@xspectre/lab';
import { DEFAULT_BACKUP_EXCLUDES, type BackupRestoreRequest, type BackupRun } from '@xspectre/contracts';
import { TestApi } from './support/harness.js';
import { stepUp } from './support/step-up.js';
import { freePort } from './support/built-process.js';
import { startLabBackupServer, type LabBackupServer } from './support/lab-backup-server.js';
import { mustRun, sha256Tree, sorted, underPrefix, writeTree, type TreeFile } from './support/device-files.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HEARTBEAT_SECONDS = 5;
const RUN_TIMEOUT_MS = 5 * 60_000;

/** What the policy backs up: application data, a user's home (read by the agent's unit, not only root's files) and config under /etc. */
const POLICY_PATHS = ['/srv/xs-data', '/home', '/etc/xs-lab'];
const TREE: TreeFile[] = [
  { path: '/srv/xs-data/report.txt', text: 'quarterly report\nline two\n' },
  { path: '/srv/xs-data/blob.bin', randomKiB: 24 * 1024 }, // 24 MiB: restic reports progress while it runs
  { path: '/srv/xs-data/nested/deep/settings.json', text: '{"retention":7,"mode":"strict"}\n' },
  { path: '/srv/xs-data/name with spaces.txt', text: 'spaces in the name\n' },
  { path: '/home/alice/notes.md', text: '# notes\n- back up\n- restore\n' },
  {
    path: '/home/alice/.ssh/authorized_keys',
    text: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxhYm9yYXRvcnkgdGVzdCBrZXkgb25seQ alice@lab\n',
    mode: '600',
  },
  { path: '/home/alice/.cache/thumbs.db', text: 'excluded by the default excludes (/home/*/.cache)\n' },
  { path: '/etc/xs-lab/hostname', text: 'files-1.lab.example\n' },
  { path: '/etc/xs-lab/app.conf', text: '[server]\nlisten = 10.10.0.21\nworkers = 4\n' },
];
const EXCLUDED = ['/home/alice/.cache/thumbs.db'];
const CHANGED = '/srv/xs-data/report.txt';
const DELETED = '/home/alice/notes.md';
const ALTERNATE = '/srv/xs-restored';

function host(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 30_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(' ')}: ${error.message} ${stderr}`)) : resolve(stdout),
    );
    // age-keygen reads nothing: a write to its closed stdin must not crash the test.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/**
 * File backups end to end in the fleet lab: the real API, the real backup server (rclone serve
 * restic behind the token front, plain directory store) on the hub's overlay address, and
 * Debian containers with systemd enrolled by bootstrap.sh, whose agent runs restic in a
 * transient unit, reaching the backup server only through its WireGuard tunnel. Every check is
 * on the files in the container: SHA-256 before the backup and after each restore.
 */
describe('fleet lab: file backups over WireGuard', () => {
  let lab: Lab | undefined;
  let api: TestApi | undefined;
  let backupServer: LabBackupServer | undefined;
  let admin: string;
  let totpSecret: string;
  let site: { organizationId: string; siteId: string };
  let d1: { id: string; device: ContainerDevice };
  /** SHA-256 of every file under POLICY_PATHS on d1 before anything was changed. */
  let originals: Map<string, string>;
  /** The first backup's snapshot. */
  let snapshotId: string;
  const started = Date.now();

  async function enroll(name: string) {
    const r = await api!.request('POST', 'devices', { token: admin, body: { name, ...site, type: 'server' } });
    if (r.status !== 201) throw new Error(`create device: ${r.status} ${r.text}`);
    const device = await lab!.addContainerDevice({ hostname: name });
    const result = await device.bootstrap(r.body.claimCode.code as string);
    if (result.exitCode !== 0) throw new Error(`bootstrap ${name}: ${result.stdout}\n${result.stderr}`);
    return { id: r.body.device.id as string, device };
  }

  /** The admin's session stepped up again every 2 minutes (a TOTP code is accepted once: a new one every 30 s). */
  let steppedAt = 0;
  async function critical(): Promise<string> {
    if (Date.now() - steppedAt > 120_000) {
      await stepUp(api!, admin, totpSecret);
      steppedAt = Date.now();
    }
    return admin;
  }

  const runsOf = async (deviceId: string): Promise<BackupRun[]> => {
    const r = await api!.request('GET', `devices/${deviceId}/backup-runs?limit=20`, { token: admin });
    if (r.status !== 200) throw new Error(`list runs: ${r.status} ${r.text}`);
    return r.body.items as BackupRun[];
  };

  /** Polls the run until it is final; returns it with every progress seen while it ran. */
  async function waitForRun(deviceId: string, runId: string): Promise<{ run: BackupRun; progress: NonNullable<BackupRun['progress']>[] }> {
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    const progress: NonNullable<BackupRun['progress']>[] = [];
    for (;;) {
      const run = (await runsOf(deviceId)).find((r) => r.id === runId);
      if (!run) throw new Error(`run ${runId} is not listed for ${deviceId}`);
      if (run.progress) progress.push(run.progress);
      if (run.status === 'succeeded' || run.status === 'failed' || run.status === 'missed') return { run, progress };
      if (Date.now() > deadline) throw new Error(`run ${runId} is still ${run.status} after ${RUN_TIMEOUT_MS / 1000} s`);
      await sleep(300);
    }
  }

  async function backUp(deviceId: string) {
    const r = await api!.request('POST', `devices/${deviceId}/backup-runs`, { token: admin });
    expect(r.status, r.text).toBe(201);
    const t0 = Date.now();
    const done = await waitForRun(deviceId, r.body.id as string);
    console.log(`lab backups: backup run ${done.run.id} ${done.run.status} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return done;
  }

  async function restore(deviceId: string, body: BackupRestoreRequest) {
    const r = await api!.request('POST', `devices/${deviceId}/backup-restores`, { token: await critical(), body });
    expect(r.status, r.text).toBe(201);
    const t0 = Date.now();
    const done = await waitForRun(deviceId, r.body.id as string);
    console.log(`lab backups: restore run ${done.run.id} ${done.run.status} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return done;
  }

  /** A failed run explained: the run, its command's stderr and the agent's last journal lines in the device. */
  async function explain(device: ContainerDevice, run: BackupRun): Promise<string> {
    const command = run.commandId ? (await api!.request('GET', `commands/${run.commandId}`, { token: admin })).body : null;
    const journal = await device.exec('journalctl', ['--no-pager', '-n', '60', '-u', 'xspectre-agent', '-u', 'xspectre-restic-*']);
    return [
      JSON.stringify(run),
      `command: ${command?.status} ${command?.reason ?? ''}\nstderr: ${command?.stderr ?? ''}`,
      `journal:\n${journal.stdout}`,
    ].join('\n');
  }

  /** `soft`: a restore's files are compared even when its run failed (what was written is the evidence either way). */
  async function expectSucceeded(device: ContainerDevice, run: BackupRun, kind: BackupRun['kind'], soft = false) {
    const ok = run.kind === kind && run.status === 'succeeded' && run.error === null;
    (soft ? expect.soft : expect)(ok, ok ? '' : await explain(device, run)).toBe(true);
  }

  const withoutExcluded = (sums: ReadonlyMap<string, string>) => new Map([...sums].filter(([path]) => !EXCLUDED.includes(path)));

  beforeAll(async () => {
    // First run on a machine: builds the device image (debootstrap, ~2 min) and the agent executable.
    lab = await startLab({ containers: true, log: (line) => console.log(`lab: ${line}`) });
    const backupPort = await freePort();
    api = await TestApi.start(
      {
        ...lab.apiEnv(),
        API_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
        API_WG_RECONCILE_SECONDS: '2',
        API_BACKUP_SERVER_URL: `http://${lab.hub.address}:${backupPort}`,
        // The file runs longer than the default 10 minutes of an access token.
        API_ACCESS_TOKEN_TTL_SECONDS: '3600',
      },
      { host: '0.0.0.0', port: lab.apiPort },
    );
    // On the hub's overlay address: the only address of this machine a device can reach.
    backupServer = await startLabBackupServer({ host: lab.hub.address, port: backupPort, keyStoreDir: api.config.API_KEY_STORE_DIR });
    admin = await api.adminToken();
    totpSecret = (await api.enableTotp(admin)).secret;
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Lab Backups', kind: 'customer' } });
    const s = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'Main', timeZone: 'UTC' } });
    site = { organizationId: org.body.id, siteId: s.body.id };

    d1 = await enroll('files-1');
    await mustRun(d1.device, 'useradd', ['--no-create-home', '--home-dir', '/home/alice', 'alice']);
    await writeTree(d1.device, TREE);
    await mustRun(d1.device, 'chown', ['-R', 'alice:alice', '/home/alice']);
    originals = await sha256Tree(d1.device, POLICY_PATHS);
    expect(sorted(originals).map(([path]) => path)).toEqual(TREE.map((f) => f.path).sort((a, b) => a.localeCompare(b)));
    console.log(`lab backups: lab, API, backup server and one enrolled container after ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }, 25 * 60_000);

  afterAll(async () => {
    console.log(`lab backups: whole file ${((Date.now() - started) / 1000).toFixed(0)} s`);
    await backupServer?.stop();
    await api?.stop();
    await lab?.teardown();
  }, 180_000);

  it('backs a container up over its tunnel: summary, progress, catalog, repository on the backup server', async () => {
    // The device reaches the backup server's front over its tunnel (401: no token), as the agent's restic will.
    const probe = await mustRun(d1.device, 'curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--max-time',
      '10',
      `${backupServer!.url}/${d1.id}/config`,
    ]);
    expect(probe).toBe('401');
    const policy = await api!.request('PUT', `devices/${d1.id}/backup-policy`, {
      token: admin,
      body: { mode: 'FILE', paths: POLICY_PATHS, excludes: [...DEFAULT_BACKUP_EXCLUDES] },
    });
    expect(policy.status, policy.text).toBe(200);

    const { run, progress } = await backUp(d1.id);
    await expectSucceeded(d1.device, run, 'backup');
    expect(run.requestedBy).toEqual(expect.any(String));
    const summary = run.summary!;
    const backedUp = TREE.length - EXCLUDED.length;
    expect(summary).toMatchObject({ filesNew: backedUp, filesChanged: 0, filesUnmodified: 0, totalFiles: backedUp, unreadableFiles: 0 });
    expect(summary.totalBytes).toBeGreaterThanOrEqual(24 * 1024 * 1024);
    snapshotId = summary.snapshotId;

    console.log(`lab backups: ${progress.length} progress reports seen while polling; summary ${JSON.stringify(summary)}`);
    // Progress: seen while the run went, or at least its time kept on the finished run.
    expect(progress.length > 0 || run.progressAt !== null, 'no progress was reported for the run').toBe(true);
    for (const p of progress) expect(p.percentDone).toBeLessThanOrEqual(1);

    const catalog = await api!.request('GET', `devices/${d1.id}/backup-snapshots`, { token: admin });
    expect(catalog.status, catalog.text).toBe(200);
    const listed = (catalog.body.items as Array<{ snapshotId: string; runId: string | null; totalFiles: number | null }>).find(
      (s) => s.snapshotId.startsWith(snapshotId) || snapshotId.startsWith(s.snapshotId),
    );
    expect(listed, JSON.stringify(catalog.body)).toMatchObject({ runId: run.id, totalFiles: backedUp });

    // The repository is on the backup server's store, and every request came over the overlay with the device's tokens.
    const requests = backupServer!.logLines().filter((l) => l.device === d1.id);
    expect(requests.length).toBeGreaterThan(0);
    const ops = new Set(requests.map((l) => l.op as string));
    expect(ops.has('append')).toBe(true);
    expect([...ops].filter((op) => op !== 'append' && op !== 'prune')).toEqual([]);
    expect(requests.filter((l) => l.status >= 400 && l.status !== 404)).toEqual([]);
  });

  it('restores changed and deleted files to their original place: every SHA-256 as before', async () => {
    expect(snapshotId, 'the backup test made no snapshot').toBeDefined();
    await mustRun(d1.device, 'tee', ['-a', CHANGED], 'a line added after the backup\n');
    await mustRun(d1.device, 'rm', ['--', DELETED]);
    const damaged = await sha256Tree(d1.device, POLICY_PATHS);
    expect(damaged.get(CHANGED)).not.toBe(originals.get(CHANGED));
    expect(damaged.has(DELETED)).toBe(false);

    const { run } = await restore(d1.id, { snapshotId, paths: POLICY_PATHS, target: { mode: 'original' } });
    await expectSucceeded(d1.device, run, 'restore', true);
    expect(sorted(await sha256Tree(d1.device, POLICY_PATHS))).toEqual(sorted(originals));
    // Owner and mode come back too: the restored home is still alice's, her keys still private.
    expect((await mustRun(d1.device, 'stat', ['-c', '%U %a', DELETED, '/home/alice/.ssh/authorized_keys'])).trim().split('\n')).toEqual([
      'alice 644',
      'alice 600',
    ]);
  });

  it('restores to an alternate directory: the same files below it, the excluded cache absent', async () => {
    expect(snapshotId, 'the backup test made no snapshot').toBeDefined();
    const { run } = await restore(d1.id, { snapshotId, paths: POLICY_PATHS, target: { mode: 'alternate', directory: ALTERNATE } });
    await expectSucceeded(d1.device, run, 'restore', true);
    expect(sorted(await sha256Tree(d1.device, [ALTERNATE]))).toEqual(sorted(underPrefix(withoutExcluded(originals), ALTERNATE)));
    // The original place was left alone.
    expect(sorted(await sha256Tree(d1.device, POLICY_PATHS))).toEqual(sorted(originals));
  });

  it('new hardware: the escrowed password, decrypted offline and sent to a fresh device’s transfer key, restores its files', async () => {
    const keys = await mkdtemp(join(tmpdir(), 'xs-lab-recovery-'));
    try {
      // The offline recovery key: only its public half goes to the API.
      const identityFile = join(keys, 'recovery-key.txt');
      await host('age-keygen', ['-o', identityFile]);
      const recipient = (await host('age-keygen', ['-y', identityFile])).trim();
      const set = await api!.request('PUT', 'backups/recovery-key', { token: await critical(), body: { recipient } });
      expect(set.status, set.text).toBe(200);

      // The next backup carries the escrow: the password encrypted on the device to the recovery key.
      const { run } = await backUp(d1.id);
      await expectSucceeded(d1.device, run, 'backup');
      const latest = run.summary!.snapshotId;

      const d2 = await enroll('files-2-replacement');
      let transferKey: string | null = null;
      const deadline = Date.now() + 120_000;
      while (!transferKey) {
        const r = await api!.request('GET', `devices/${d2.id}/backup-transfer-key`, { token: admin });
        expect(r.status, r.text).toBe(200);
        transferKey = r.body.recipient as string | null;
        if (!transferKey && Date.now() > deadline) throw new Error('the fresh device reported no transfer key within 120 s');
        if (!transferKey) await sleep(500);
      }

      const escrow = await api!.request('GET', `devices/${d1.id}/backup-escrow`, { token: await critical() });
      expect(escrow.status, escrow.text).toBe(200);
      expect(escrow.body.recipient).toBe(recipient);
      // The Super Admin's offline step, then what the console does in the browser.
      const password = await host('age', ['-d', '-i', identityFile], escrow.body.ciphertext as string);
      expect(password.length).toBeGreaterThan(0);
      const passwordCiphertext = await host('age', ['-r', transferKey, '-a'], password);

      const readsBefore = backupServer!.logLines().filter((l) => l.device === d1.id && l.op === 'read').length;
      const restored = await restore(d2.id, {
        snapshotId: latest,
        paths: POLICY_PATHS,
        target: { mode: 'original' },
        source: { deviceId: d1.id, passwordCiphertext },
      });
      await expectSucceeded(d2.device, restored.run, 'restore', true);
      expect(sorted(await sha256Tree(d2.device, POLICY_PATHS))).toEqual(sorted(withoutExcluded(originals)));
      // The fresh device read the first device's repository, with read tokens for it.
      expect(backupServer!.logLines().filter((l) => l.device === d1.id && l.op === 'read').length).toBeGreaterThan(readsBefore);
    } finally {
      await rm(keys, { recursive: true, force: true });
    }
  });
});
