// A realistic heartbeat: 5 mounts, 3 NICs, 20 systemd units, 10 containers. As from a real
// agent, the numbers move every heartbeat (uptime, CPU, each container's CPU and memory) while
// the units' `since` (systemd's StateChangeTimestamp) and the container list stay put.
//
// The device's place in the bench fleet (`index`) decides what it breaches of the default alert
// rules (api/src/db/migrations/1795550000000-Alerts.ts), so a rules-on run judges a fleet where a
// realistic few devices are in trouble and some flip between breaching and clear:
//   5 %   (index % 20 = 0):   CPU over cpu-high's 90 %, with a calm spell 10 heartbeats in 40
//   2 %   (index % 50 = 3):   one mount 87 % full (disk-high), steady
//   1 %   (index % 100 = 5):  memory 92 % used (memory-high), steady
//   1 %   (index % 100 = 1):  svc-1.service failed every other 8 heartbeats
//   0.5 % (index % 200 = 2):  container gvm-2 unhealthy every other 12 heartbeats
// Every other device (and a heartbeat without an index) breaches nothing.
const BOOTED_AT = '2026-11-30T08:00:00.000Z';
const CONTAINERS = 10;

/** The values that change from one heartbeat to the next, or from one device to another. */
function volatile(sequence, index = -1) {
  const is = (every, at) => index >= 0 && index % every === at;
  const hot = is(20, 0) && Math.floor(sequence / 10) % 4 !== 3;
  const unitFailed = is(100, 1) && Math.floor(sequence / 8) % 2 === 0;
  const v = {
    uptime: 1000 + sequence,
    cpu: hot ? 91 + (sequence % 9) : 5 + ((sequence * 7) % 60),
    mem: is(100, 5) ? 14.72e9 : 6e9,
    disk0: is(50, 3) ? 8.7e10 : 4e10,
    unitState: unitFailed ? 'failed' : 'active',
    unitSub: unitFailed ? 'failed' : 'running',
    health2: is(200, 2) && Math.floor(sequence / 12) % 2 === 0 ? 'unhealthy' : 'healthy',
  };
  for (let i = 0; i < CONTAINERS; i++) {
    v[`k${i}`] = ((sequence * 13 + i * 7) % 400) / 10;
    v[`m${i}`] = 2e8 + ((sequence * 4099 + i * 977) % 65536) * 4096;
  }
  return v;
}

/** `index`: the device's place in the fleet (see above); without it, a healthy device. */
export function heartbeat(deviceId, sequence, now = new Date().toISOString(), index = -1) {
  return build(deviceId, sequence, now, volatile(sequence, index));
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
      memory: { totalBytes: 16e9, usedBytes: v.mem, swapTotalBytes: 2e9, swapUsedBytes: 1e7 },
      mounts: Array.from({ length: 5 }, (_, i) => ({
        mountpoint: `/mnt/m${i}`,
        device: `/dev/vd${i}`,
        fsType: 'ext4',
        totalBytes: 1e11,
        usedBytes: i === 0 ? v.disk0 : 4e10 + i,
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
      activeState: i === 1 ? v.unitState : 'active',
      subState: i === 1 ? v.unitSub : 'running',
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
        health: i === 2 ? v.health2 : 'healthy',
        restartCount: 0,
        cpuPercent: v[`k${i}`],
        memoryBytes: v[`m${i}`],
      })),
    },
  };
}

/**
 * The load generator's fast path: `JSON.stringify(heartbeat(deviceId, sequence, now, index))`,
 * built by filling the varying values into a body serialised once (checked against the slow path).
 */
export function heartbeatBodyWriter() {
  const marks = Object.fromEntries(Object.keys(volatile(0)).map((k) => [k, `@@${k}@@`]));
  const json = JSON.stringify(build('@@d@@', '@@s@@', '@@t@@', marks));
  // Even pieces are literal JSON, odd ones the names of values; the marker's quotes are gone, so
  // strings get theirs back and numbers stay bare.
  const pieces = json.split(/"@@(\w+)@@"/);
  const render = (deviceId, sequence, now, index = -1) => {
    const v = volatile(sequence, index);
    let out = pieces[0];
    for (let i = 1; i < pieces.length; i += 2) {
      const name = pieces[i];
      const value = name === 'd' ? deviceId : name === 't' ? now : name === 's' ? sequence : v[name];
      out += (typeof value === 'string' ? JSON.stringify(value) : value) + pieces[i + 1];
    }
    return out;
  };
  const now = new Date().toISOString();
  for (const [sequence, index] of [
    [12345, -1],
    [3, 0], // CPU hot
    [35, 0], // its calm spell
    [0, 1], // unit failed
    [8, 1], // unit back
    [1, 2], // container unhealthy
    [7, 3], // disk
    [9, 5], // memory
  ]) {
    const probe = ['00000000-0000-4000-8000-000000000001', sequence, now, index];
    if (render(...probe) !== JSON.stringify(heartbeat(...probe))) throw new Error('heartbeatBodyWriter drifted from heartbeat()');
  }
  return render;
}
