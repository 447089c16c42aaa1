import type { Device, DeviceLivePatch } from '@xspectre/contracts';

export interface PatchOutcome {
  device: Device;
  /** The patch says something the list row cannot show by itself (a new quarantine's reason): GET the device. */
  needsRefetch: boolean;
  /** Fields a list filter or sort may depend on changed. */
  membershipChanged: boolean;
}

/** Applies a live `devices.changed` patch (only the fields present changed) to a device from the API. */
export function applyDevicePatch(device: Device, patch: DeviceLivePatch): PatchOutcome {
  const next: Device = { ...device, tunnel: { ...device.tunnel } };
  let needsRefetch = false;
  let membershipChanged = false;
  if (patch.status !== undefined && patch.status !== device.status) {
    next.status = patch.status;
    membershipChanged = true;
  }
  if (patch.connectivity !== undefined && patch.connectivity !== device.connectivity) {
    next.connectivity = patch.connectivity;
    membershipChanged = true;
  }
  if (patch.hostname !== undefined) next.hostname = patch.hostname;
  if (patch.agentVersion !== undefined) next.agentVersion = patch.agentVersion;
  if (patch.enrolledAt !== undefined) next.enrolledAt = patch.enrolledAt;
  if (patch.lastHeartbeatAt !== undefined) next.lastHeartbeatAt = patch.lastHeartbeatAt;
  if (patch.lastHandshakeAt !== undefined) next.tunnel.lastHandshakeAt = patch.lastHandshakeAt;
  if (patch.overlayAddress !== undefined) next.tunnel.overlayAddress = patch.overlayAddress;
  if (patch.metrics !== undefined) {
    next.metrics = patch.metrics;
    next.metricsSampledAt = patch.lastHeartbeatAt ?? device.metricsSampledAt;
  }
  if (patch.quarantined !== undefined && patch.quarantined !== (device.quarantine !== null)) {
    membershipChanged = true;
    if (patch.quarantined) needsRefetch = true;
    else next.quarantine = null;
  }
  return { device: next, needsRefetch, membershipChanged };
}
