import { readFile, stat } from 'node:fs/promises';
import { BACKUP_REPORT_MAX_DEVICES, type BackupCapacityReport } from '@xspectre/contracts';
import type { CapacityReportSink } from './capacity-report.js';

const SECRET = /^xs_svc_[A-Za-z0-9_-]{43}$/;
const REQUEST_TIMEOUT_MS = 30_000;

/** Reads the service credential (`xs_svc_…`, made by a Super Admin: POST service-credentials) from a root-only file. */
export async function readServiceCredential(path: string): Promise<string> {
  const info = await stat(path);
  if ((info.mode & 0o077) !== 0) throw new Error(`${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
  const secret = (await readFile(path, 'utf8')).trim();
  if (!SECRET.test(secret)) throw new Error(`${path} does not hold a service credential (xs_svc_…)`);
  return secret;
}

/**
 * Sends capacity reports to the API (POST backup-server/report) with the backup server's own
 * service credential, in requests of at most BACKUP_REPORT_MAX_DEVICES device usages (each
 * carries the pool and scrub too, so any one of them is a complete picture of the pool).
 */
export class ApiReportSink implements CapacityReportSink {
  constructor(
    private readonly apiUrl: string,
    private readonly credential: string,
  ) {}

  async send(report: BackupCapacityReport): Promise<void> {
    const url = new URL('backup-server/report', this.apiUrl.endsWith('/') ? this.apiUrl : `${this.apiUrl}/`);
    const chunks = report.devices.length === 0 ? [[]] : chunk(report.devices, BACKUP_REPORT_MAX_DEVICES);
    for (const devices of chunks) {
      const answer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.credential}` },
        body: JSON.stringify({ ...report, devices }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      if (!answer.ok) {
        const problem = (await answer.json().catch(() => null)) as { code?: string; detail?: string } | null;
        throw new Error(`the API refused the capacity report: ${answer.status} ${problem?.code ?? ''} ${problem?.detail ?? ''}`.trim());
      }
    }
  }
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
