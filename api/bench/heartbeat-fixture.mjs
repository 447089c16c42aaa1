// A realistic heartbeat: 5 mounts, 3 NICs, 20 systemd units, 10 containers.
export function heartbeat(deviceId, sequence) {
  const now = new Date().toISOString();
  return {
    protocolVersion: 1,
    deviceId,
    sequence,
    sentAt: now,
    agentVersion: '0.1.0',
    uptimeSeconds: 1000 + sequence,
    metrics: {
      cpuPercent: (sequence * 7) % 100,
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
      since: now,
      watched: true,
    })),
    docker: {
      status: 'ok',
      containers: Array.from({ length: 10 }, (_, i) => ({
        id: `c${i}`.padEnd(64, '0'),
        name: `gvm-${i}`,
        image: 'greenbone/gvmd:stable',
        state: 'running',
        health: 'healthy',
        restartCount: 0,
        cpuPercent: 1.5,
        memoryBytes: 2e8,
      })),
    },
  };
}
