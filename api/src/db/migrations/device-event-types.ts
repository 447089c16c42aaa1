import type { QueryRunner } from 'typeorm';

/**
 * For migrations that add device event types: the types the `device_events` check allows now,
 * read from the constraint itself, so migrations of the same release that add types keep each
 * other's whichever runs first. Takes only the literal event names of the migration (never input).
 */
async function eventTypes(queryRunner: QueryRunner): Promise<string[]> {
  const rows: Array<{ def: string }> = await queryRunner.query(
    `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'chk_device_events_type' AND conrelid = 'device_events'::regclass`,
  );
  return [...(rows[0]?.def ?? '').matchAll(/'([^']+)'::text/g)].map((m) => m[1]!);
}

async function setEventTypes(queryRunner: QueryRunner, types: string[]): Promise<void> {
  await queryRunner.query(`ALTER TABLE "device_events" DROP CONSTRAINT "chk_device_events_type"`);
  await queryRunner.query(
    `ALTER TABLE "device_events" ADD CONSTRAINT "chk_device_events_type" CHECK ("type" IN (${types.map((t) => `'${t}'`).join(', ')}))`,
  );
}

export async function addDeviceEventTypes(queryRunner: QueryRunner, added: readonly string[]): Promise<void> {
  const types = await eventTypes(queryRunner);
  const missing = added.filter((t) => !types.includes(t));
  if (missing.length > 0) await setEventTypes(queryRunner, [...types, ...missing]);
}

export async function removeDeviceEventTypes(queryRunner: QueryRunner, removed: readonly string[]): Promise<void> {
  await setEventTypes(
    queryRunner,
    (await eventTypes(queryRunner)).filter((t) => !removed.includes(t)),
  );
}
