import { setTimeout as sleep } from 'node:timers/promises';
import { AlertEvaluator } from '../../src/alerts/alert-evaluator.js';
import type { TestApi } from './harness.js';

/**
 * Runs the alert evaluation until its device-event outbox has read every event committed so far.
 * The outbox reads only below the snapshot's xmin (api/src/alerts/outbox-reader.ts), and xmin
 * is the whole PostgreSQL cluster's: a transaction open in another test file's database (the
 * integration lane runs two files at once) holds committed events back until it ends. One
 * evaluation right after an event can therefore miss it; the product catches up at the next run.
 */
export async function evaluateThroughEvents(api: TestApi, at = new Date(), timeoutMs = 30_000): Promise<void> {
  const latest = (await api.sql.query(`SELECT xid::text AS xid, id::text AS id FROM device_events ORDER BY xid DESC, id DESC LIMIT 1`))
    .rows[0] as { xid: string; id: string } | undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await api.app.get(AlertEvaluator).run(at);
    if (!latest) return;
    const cursor = (
      await api.sql.query(`SELECT last_xid::text AS xid, last_id::text AS id FROM alert_outbox_cursors WHERE name = 'device_events'`)
    ).rows[0] as { xid: string; id: string } | undefined;
    const passed =
      cursor !== undefined &&
      (BigInt(cursor.xid) > BigInt(latest.xid) || (cursor.xid === latest.xid && BigInt(cursor.id) >= BigInt(latest.id)));
    if (passed) return;
    if (Date.now() > deadline) throw new Error(`the alert outbox did not read device event ${latest.id} within ${timeoutMs} ms`);
    await sleep(200);
  }
}
