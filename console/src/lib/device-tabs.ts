import type { DeviceType } from '@xspectre/contracts';

/**
 * The device page's tabs, each a sub-route of /devices/[id] (so a tab is a link, survives a reload
 * and can be shared). A tab that comes with its issue (terminal, files, alerts, backups) is one
 * more line here and a folder beside commands/.
 */
export interface DeviceTab {
  /** The sub-route under /devices/[id]; '' is the overview. */
  segment: string;
  label: string;
  /** Only devices of these types have the tab (all when absent). */
  deviceTypes?: readonly DeviceType[];
}

export const DEVICE_TABS: readonly DeviceTab[] = [
  { segment: '', label: 'Overview' },
  { segment: 'commands', label: 'Commands' },
  { segment: 'alerts', label: 'Alerts' },
  { segment: 'backups', label: 'Backups' },
  { segment: 'recovery', label: 'Recovery' },
  { segment: 'terminal', label: 'Terminal' },
  { segment: 'files', label: 'Files' },
  { segment: 'scanner', label: 'Scanner', deviceTypes: ['scanner'] },
];

/** The tabs a device of this type has. */
export function deviceTabsFor(type: DeviceType): readonly DeviceTab[] {
  return DEVICE_TABS.filter((t) => !t.deviceTypes || t.deviceTypes.includes(type));
}

export function deviceTabHref(deviceId: string, tab: DeviceTab): string {
  return `/devices/${deviceId}${tab.segment ? `/${tab.segment}` : ''}`;
}

/** The tab a pathname shows: the first segment after /devices/[id] (deeper routes stay in their tab); the overview otherwise. */
export function activeDeviceTab(pathname: string, deviceId: string, tabs: readonly DeviceTab[] = DEVICE_TABS): DeviceTab {
  const base = `/devices/${deviceId}`;
  const rest = pathname.startsWith(base) ? pathname.slice(base.length).replace(/^\/+/, '') : '';
  const segment = rest.split('/')[0] ?? '';
  return tabs.find((t) => t.segment === segment) ?? tabs[0]!;
}
