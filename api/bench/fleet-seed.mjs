// The fleet-reads benchmark's fleet (fleet-reads.mjs), written straight into PostgreSQL with
// generate_series and multi-row statements, so 10,000 devices and half a million audit rows take
// seconds, not an hour of HTTP:
//   51 organizations, 202 sites, 10,000 active devices (a fifth servers, ~3 % silent for an hour),
//   each with a latest telemetry document shaped like a real heartbeat (heartbeat-fixture.mjs:
//   5 mounts, 3 NICs, 20 units, 10 containers) with its own CPU, memory and mount fill;
//   a day of 30 s metric samples and a week of 1-minute and 1-hour rollups for 200 devices (the
//   chart routes read the rollups for 24 h and 7 d: api/src/telemetry/metrics.service.ts);
//   500,000 audit rows forming a valid hash chain from id 1 (hashed here with the API's own
//   chainHash, api/src/audit/audit-chain.ts, so verification walks it without a break).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { heartbeat } from './heartbeat-fixture.mjs';

export const ORGANIZATIONS = 51;
export const SITES = 202;

/** A small deterministic generator (mulberry32): the same fleet every run. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function batches(items, size, write) {
  for (let i = 0; i < items.length; i += size) await write(items.slice(i, i + size));
}

/** Organizations and sites; returns the sites in name order, each with its organization. */
async function seedOrganizations(sql) {
  await sql.query(
    `INSERT INTO organizations (name, kind)
     SELECT 'Org ' || lpad(i::text, 2, '0'), CASE WHEN i = 0 THEN 'internal' ELSE 'customer' END FROM generate_series(0, $1::int - 1) AS i`,
    [ORGANIZATIONS],
  );
  await sql.query(
    `WITH o AS (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM organizations)
     INSERT INTO sites (organization_id, name, time_zone)
     SELECT o.id, 'Site ' || lpad(s::text, 3, '0'), 'UTC' FROM generate_series(0, $1::int - 1) AS s JOIN o ON o.n = s % $2`,
    [SITES, ORGANIZATIONS],
  );
  return (await sql.query(`SELECT id, organization_id AS org FROM sites ORDER BY name`)).rows;
}

/** A latest-telemetry document like a real heartbeat, with this device's own load. */
function telemetry(device, index, sampledAt) {
  const r = random(index + 1);
  const h = heartbeat(device.id, device.sequence, sampledAt, index);
  // Most devices idle, some busy, a few pegged: the CPU sort has a real spread.
  h.metrics.cpuPercent = Math.round((r() < 0.05 ? 85 + r() * 15 : r() * 45) * 10) / 10;
  h.metrics.memory.usedBytes = Math.round(h.metrics.memory.totalBytes * (0.15 + r() * 0.8));
  for (const mount of h.metrics.mounts) mount.usedBytes = Math.round(mount.totalBytes * (0.05 + r() * 0.9));
  return { metrics: h.metrics, services: h.services, docker: h.docker };
}

/** 10,000 active devices (by default) with credentials the load generator can use, and their latest telemetry. */
async function seedDevices(sql, sites, count) {
  const devices = [];
  const rows = [];
  for (let i = 0; i < count; i++) {
    const site = sites[i % sites.length];
    const credential = `dc_${randomBytes(32).toString('base64url')}`;
    const device = { id: randomUUID(), credential, sequence: 5000 + i * 7 };
    devices.push(device);
    const server = i % 5 === 0;
    rows.push({
      id: device.id,
      name: `${server ? 'srv' : 'scn'}-${String(i % sites.length).padStart(3, '0')}-${String(i).padStart(5, '0')}`,
      org: site.org,
      site: site.id,
      type: server ? 'server' : 'scanner',
      addr: `10.100.${i >> 8}.${i & 255}`,
      hash: createHash('sha256').update(credential).digest('hex'),
      // ~3 % silent for over an hour (offline), the rest heard from within the last 30 s.
      ago: i % 33 === 7 ? 3600 + (i % 600) : i % 30,
      seq: device.sequence,
    });
  }
  await batches(rows, 2000, (batch) =>
    sql.query(
      `INSERT INTO devices (id, name, organization_id, site_id, type, status, hostname, agent_version, overlay_address, credential_hash,
                            enrolled_at, last_heartbeat_at, last_sequence, last_handshake_at, created_at, updated_at)
       SELECT x.id, x.name, x.org, x.site, x.type, 'active', x.name, '0.1.0', x.addr, x.hash,
              now() - interval '30 days', now() - x.ago * interval '1 second', x.seq, now() - x.ago * interval '1 second',
              now() - interval '31 days', now()
         FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, name text, org uuid, site uuid, type text, addr text, hash text, ago int, seq bigint)`,
      [JSON.stringify(batch)],
    ),
  );
  const now = Date.now();
  const documents = rows.map((row, i) => ({
    d: row.id,
    s: row.seq,
    at: new Date(now - row.ago * 1000).toISOString(),
    ...telemetry(devices[i], i, new Date(now - row.ago * 1000).toISOString()),
  }));
  await batches(documents, 500, (batch) =>
    sql.query(
      `INSERT INTO device_telemetry (device_id, sequence, sampled_at, metrics, services, docker, services_sequence, docker_sequence)
       SELECT x.d, x.s, x.at, x.metrics, x.services, x.docker, x.s, x.s
         FROM jsonb_to_recordset($1::jsonb) AS x(d uuid, s bigint, at timestamptz, metrics jsonb, services jsonb, docker jsonb)`,
      [JSON.stringify(batch)],
    ),
  );
  return devices;
}

/** A day of 30 s samples and a week of 1-minute and 1-hour rollups for `devices`. */
async function seedMetrics(sql, devices) {
  const ids = devices.map((d) => d.id);
  const sequences = devices.map((d) => d.sequence);
  await sql.query(
    `INSERT INTO metric_samples (device_id, sampled_at, sequence, received_at, cpu_percent, load1, mem_used_bytes, mem_total_bytes,
                                 swap_used_bytes, disk_used_percent_max, net_rx_bps, net_tx_bps)
     SELECT d.id, x.t, d.seq - 2880 + k, x.t, 25 + 20 * sin(k / 120.0 + d.n), 0.5 + abs(sin(k / 60.0)), 6e9 + 2e9 * sin(k / 300.0 + d.n), 16e9,
            1e7, 40 + d.n % 40, 1200 + k % 500, 800 + k % 300
       FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS d(id, seq, n)
       CROSS JOIN generate_series(1, 2880) AS k
       CROSS JOIN LATERAL (SELECT now() - (2880 - k) * interval '30 seconds' AS t) x`,
    [ids, sequences],
  );
  for (const [table, unit, buckets, samples] of [
    ['metric_rollups_1m', 'minute', 7 * 1440, 2],
    ['metric_rollups_1h', 'hour', 7 * 24, 120],
  ]) {
    await sql.query(
      `INSERT INTO ${table} (device_id, bucket, samples, cpu_avg, cpu_max, load1_avg, mem_used_avg, mem_total_max, swap_used_avg,
                             disk_used_percent_max, net_rx_bps_avg, net_tx_bps_avg)
       SELECT d.id, date_trunc('${unit}', now()) - k * interval '1 ${unit}', ${samples}, 25 + 20 * sin(k / 120.0 + d.n), 50 + 20 * sin(k / 90.0),
              0.5, 6e9 + 2e9 * sin(k / 300.0 + d.n), 16e9, 1e7, 40 + d.n % 40, 1200 + k % 500, 800 + k % 300
         FROM unnest($1::uuid[]) WITH ORDINALITY AS d(id, n)
         CROSS JOIN generate_series(1, $2::int) AS k`,
      [ids, buckets],
    );
  }
}

const ACTIONS = [
  ['auth.login', 'session'],
  ['device.create', 'device'],
  ['device.update', 'device'],
  ['command.create', 'command'],
  ['script.update', 'script'],
  ['alert.acknowledge', 'alert'],
  ['user.update', 'user'],
  ['site.create', 'site'],
];

/** `count` audit rows chained from id 1 over the last 60 days (hashes computed here, inserted in batches). */
async function seedAudit(sql, count, chainHash, genesis) {
  const users = Array.from({ length: 12 }, (_, i) => ({ id: randomUUID(), email: `operator-${i}@bench.local` }));
  const r = random(7);
  const start = Date.now() - 60 * 86_400_000;
  const spacing = Math.floor((60 * 86_400_000) / count);
  let prevHash = genesis;
  let batch = [];
  const flush = async () => {
    await sql.query(
      `INSERT INTO audit_events (id, occurred_at, user_id, user_email, source_ip, request_id, action, resource_type, resource_id, details,
                                 result, error_message, prev_hash, hash)
       SELECT x.id, x.occurred_at, x.user_id, x.user_email, x.source_ip, x.request_id, x.action, x.resource_type, x.resource_id, x.details,
              x.result, x.error_message, x.prev_hash, x.hash
         FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, occurred_at timestamptz, user_id uuid, user_email text, source_ip text,
              request_id text, action text, resource_type text, resource_id text, details jsonb, result text, error_message text,
              prev_hash text, hash text)`,
      [JSON.stringify(batch)],
    );
    batch = [];
  };
  for (let i = 1; i <= count; i++) {
    const [action, resourceType] = ACTIONS[Math.floor(r() * ACTIONS.length)];
    const user = users[Math.floor(r() * users.length)];
    const failed = r() < 0.03;
    const row = {
      id: String(i),
      occurredAt: new Date(start + i * spacing),
      userId: user.id,
      userEmail: user.email,
      sourceIp: `127.0.${(i >> 8) & 255}.${i & 255}`,
      requestId: randomUUID(),
      action,
      resourceType,
      resourceId: randomUUID(),
      details: { name: `${resourceType}-${i % 997}`, via: 'console' },
      result: failed ? 'failure' : 'success',
      errorMessage: failed ? 'FORBIDDEN' : null,
      prevHash,
    };
    const hash = chainHash(row);
    batch.push({
      id: row.id,
      occurred_at: row.occurredAt.toISOString(),
      user_id: row.userId,
      user_email: row.userEmail,
      source_ip: row.sourceIp,
      request_id: row.requestId,
      action,
      resource_type: resourceType,
      resource_id: row.resourceId,
      details: row.details,
      result: row.result,
      error_message: row.errorMessage,
      prev_hash: prevHash,
      hash,
    });
    prevHash = hash;
    if (batch.length === 5000) await flush();
  }
  if (batch.length) await flush();
}

/**
 * Seeds the fleet into an empty, migrated database. `chain`: the API's chainHash and GENESIS_HASH
 * (from the dist under test). Returns the devices (id, credential, last sequence) and seconds per part.
 */
export async function seedFleet(sql, { devices: deviceCount, metricDevices, auditRows, chain }) {
  const timings = {};
  const timed = async (name, work) => {
    const t0 = performance.now();
    const result = await work();
    timings[name] = (performance.now() - t0) / 1000;
    return result;
  };
  const sites = await timed('organizations', () => seedOrganizations(sql));
  const devices = await timed('devices', () => seedDevices(sql, sites, deviceCount));
  // Samples and rollups are PostgreSQL's work, the chain's hashes this process's: side by side.
  await Promise.all([
    timed('samples and rollups', () => seedMetrics(sql, devices.slice(0, metricDevices))),
    timed('audit', () => seedAudit(sql, auditRows, chain.chainHash, chain.GENESIS_HASH)),
  ]);
  await timed('analyze', () =>
    sql.query(
      'VACUUM (ANALYZE) organizations, sites, devices, device_telemetry, metric_samples, metric_rollups_1m, metric_rollups_1h, audit_events',
    ),
  );
  return { devices, timings };
}
