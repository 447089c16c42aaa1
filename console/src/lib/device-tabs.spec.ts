import { describe, expect, it } from 'vitest';
import { DEVICE_TABS, activeDeviceTab, deviceTabHref, deviceTabsFor } from './device-tabs';

const id = '3f0c2a3e-7b1d-4c55-9a8e-0d6f1b2c3d4e';

describe('device tabs', () => {
  it('link to sub-routes of the device page', () => {
    expect(DEVICE_TABS.map((t) => deviceTabHref(id, t))).toEqual([
      `/devices/${id}`,
      `/devices/${id}/commands`,
      `/devices/${id}/alerts`,
      `/devices/${id}/backups`,
      `/devices/${id}/recovery`,
      `/devices/${id}/terminal`,
      `/devices/${id}/files`,
      `/devices/${id}/scanner`,
    ]);
  });

  it('show the Scanner tab to scanners only', () => {
    expect(deviceTabsFor('scanner').map((t) => t.label)).toEqual([
      'Overview',
      'Commands',
      'Alerts',
      'Backups',
      'Recovery',
      'Terminal',
      'Files',
      'Scanner',
    ]);
    expect(deviceTabsFor('server').map((t) => t.label)).toEqual([
      'Overview',
      'Commands',
      'Alerts',
      'Backups',
      'Recovery',
      'Terminal',
      'Files',
    ]);
    // A server's path to the scanner tab shows its overview.
    expect(activeDeviceTab(`/devices/${id}/scanner`, id, deviceTabsFor('server')).label).toBe('Overview');
  });

  it('mark the tab the path shows, deeper routes included', () => {
    expect(activeDeviceTab(`/devices/${id}`, id).label).toBe('Overview');
    expect(activeDeviceTab(`/devices/${id}/`, id).label).toBe('Overview');
    expect(activeDeviceTab(`/devices/${id}/commands`, id).label).toBe('Commands');
    expect(activeDeviceTab(`/devices/${id}/commands/extra`, id).label).toBe('Commands');
    expect(activeDeviceTab(`/devices/${id}/alerts`, id).label).toBe('Alerts');
    expect(activeDeviceTab(`/devices/${id}/terminal`, id).label).toBe('Terminal');
    expect(activeDeviceTab(`/devices/${id}/files`, id).label).toBe('Files');
    // A tab this console does not have falls back to the overview.
    expect(activeDeviceTab(`/devices/${id}/nowhere`, id).label).toBe('Overview');
  });
});
