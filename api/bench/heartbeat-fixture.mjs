// A realistic heartbeat: 5 mounts, 3 NICs, 20 systemd units, 10 containers. As from a real
// agent, the numbers move every heartbeat (uptime, CPU, each container's CPU and memory) while
// the units' `since` (systemd's StateChangeTimestamp) and the container list stay put.
const BOOTED_AT = '2026-11-30T08:00:00.000Z';
const CONTAINERS = 10;

/** The values that change from one heartbeat to the next. */
function volatile(sequence) {
  const v = { uptime: 1000 + sequence, cpu: (sequence * 7) % 100 };
  for (let i = 0; i < CONTAINERS; i++) {
    v[`k${i}`] = ((sequence * 13 + i * 7) % 400) / 10;
    v[`m${i}`] = 2e8 + ((sequence * 4099 + i * 977) % 65536) * 4096;
  }
  return v;
}

export function heartbeat(deviceId, sequence, now = new Date().toISOString()) {
  return build(deviceId, sequence, now, volatile(sequence));
}

function build(deviceId, sequence, now, v) {
  return {
    protocolVersion: 1,
    deviceId,
    sequence,
    sentAt: now,
    agentVersion: '0.1.0',
    uptimeSeconds: v.uptime,
    metrics: {
      cpuPercent: v.cpu,
      load: [0.5, 0.4, 0.3],
      memory: { totalBytes: 16e9, usedBytes: 6e9, swapTotalBytes: 2e9, swapUsedBytes: 1e7 },
      mounts: Array.from({ length: 5 }, (_, i) => ({
        mountpoint: `/mnt/m${i}`,
        device: `/dev/vd${i}`,
        fsType: 'ext4',
        totalBytes: 1e11,
        usedBytes: 4e10 + i,
        inodesTotal: 6e6,
        inodesUsed: 1e5,
      })),
      network: Array.from({ length: 3 }, (_, i) => ({
        name: `eth${i}`,
        rxBytes: 1e9,
        txBytes: 5e8,
        rxBytesPerSecond: 1200 + i,
        txBytesPerSecond: 800 + i,
      })),
    },
    services: Array.from({ length: 20 }, (_, i) => ({
      unit: `svc-${i}.service`,
      activeState: 'active',
      subState: 'running',
      since: BOOTED_AT,
      watched: true,
    })),
    docker: {
      status: 'ok',
      containers: Array.from({ length: CONTAINERS }, (_, i) => ({
        id: `c${i}`.padEnd(64, '0'),
        name: `gvm-${i}`,
        image: 'greenbone/gvmd:stable',
        state: 'running',
        health: 'healthy',
        restartCount: 0,
        cpuPercent: v[`k${i}`],
        memoryBytes: v[`m${i}`],
      })),
    },
  };
}

/**
 * The load generator's fast path: `JSON.stringify(heartbeat(deviceId, sequence, now))`, built by
 * filling the varying values into a body serialised once (checked against the slow path).
 */
export function heartbeatBodyWriter() {
  const marks = Object.fromEntries(Object.keys(volatile(0)).map((k) => [k, `@@${k}@@`]));
  const json = JSON.stringify(build('@@d@@', '@@s@@', '@@t@@', marks));
  // Even pieces are literal JSON, odd ones the names of values; numbers lose the marker's quotes.
  const pieces = json.split(/"@@(\w+)@@"/);
  const render = (deviceId, sequence, now) => {
    const v = volatile(sequence);
    let out = pieces[0];
    for (let i = 1; i < pieces.length; i += 2) {
      const name = pieces[i];
      const value = name === 'd' ? `"${deviceId}"` : name === 't' ? `"${now}"` : name === 's' ? sequence : v[name];
      out += value + pieces[i + 1];
    }
    return out;
  };
  const probe = ['00000000-0000-4000-8000-000000000001', 12345, new Date().toISOString()];
  if (render(...probe) !== JSON.stringify(heartbeat(...probe))) throw new Error('heartbeatBodyWriter drifted from heartbeat()');
  return render;
}
