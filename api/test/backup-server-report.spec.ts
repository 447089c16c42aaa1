import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiReportSink, readServiceCredential } from '@xspectre/backup-server/api-report-sink';
import { collectCapacityReport } from '@xspectre/backup-server/capacity-report';
import { DirectoryStorage } from '@xspectre/backup-server/directory-storage';
import type { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type LabHub } from './support/fleet.js';
import { stepUp } from './support/step-up.js';

/**
 * The backup server's capacity report reaching the API: the backup server's own sink
 * (backup-server/src/api-report-sink.ts) with a service credential a Super Admin made, a
 * directory store with two device repositories (one the API does not know), split into
 * requests of at most 2,000 devices.
 */
describe('backup server → API capacity report', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let dir: string;

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    await stepUp(api, admin);
    dir = await mkdtemp(join(tmpdir(), 'xs-report-'));
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('arrives with the pool, the known devices and their bytes; a world-readable credential file is refused', async () => {
    const device = await enrollDeviceAt(api, admin, await createOrganizationSite(api, admin, 'Report Co'), 'reported-1');
    const storage = new DirectoryStorage(join(dir, 'store'));
    await storage.prepare();
    await storage.ensureDevice(device.id);
    await writeFile(join(dir, 'store', device.id, 'config'), Buffer.alloc(4096, 1));
    await mkdir(join(dir, 'store', randomUUID()));

    const made = await api.request('POST', 'service-credentials', { token: admin, body: { service: 'backup-server', name: 'store-dir' } });
    expect(made.status, made.text).toBe(201);
    const credentialFile = join(dir, 'credential');
    await writeFile(credentialFile, `${made.body.secret}\n`, { mode: 0o644 });
    await chmod(credentialFile, 0o644);
    await expect(readServiceCredential(credentialFile)).rejects.toThrow(/readable by others/);
    await chmod(credentialFile, 0o600);

    const sink = new ApiReportSink(`${api.baseUrl}/api/v1/`, await readServiceCredential(credentialFile));
    await sink.send(await collectCapacityReport(storage));
    const capacity = await api.request('GET', 'backups/capacity', { token: admin });
    expect(capacity.body.servers).toEqual([
      expect.objectContaining({ name: 'store-dir', store: 'directory', devices: 1, deviceBytes: 4096, lastScrub: null }),
    ]);

    // A fleet larger than one request: three requests, every known device recorded once.
    const big = await collectCapacityReport(storage);
    const many = {
      ...big,
      devices: [
        ...big.devices,
        ...Array.from({ length: 4100 }, () => ({ deviceId: randomUUID(), usedBytes: 1, quotaBytes: null, snapshotCount: 0 })),
      ],
    };
    await sink.send(many);
    const requests = await api.sql.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'backup.server_report'`);
    expect(requests.rows[0].n).toBe(1 + 3);

    // A revoked credential: the sink says what the API answered.
    await api.request('DELETE', `service-credentials/${made.body.id}`, { token: admin });
    await expect(sink.send(big)).rejects.toThrow(/401 SERVICE_AUTH_INVALID/);
  });
});
