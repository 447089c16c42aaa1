import type { DeviceModules, DeviceType } from '@xspectre/contracts';

/** What a new device of this type runs; stored on the device row at creation, then its own. */
export function defaultModules(type: DeviceType): DeviceModules {
  return { docker: true, scanner: type === 'scanner', backups: 'off' };
}

/**
 * A device's modules: the stored settings over the defaults of its type, so a row written
 * without them (`'{}'`, the column's default, e.g. by a direct INSERT) still reads complete.
 */
export function modulesOf(type: DeviceType, stored: Partial<DeviceModules> | null): DeviceModules {
  return { ...defaultModules(type), ...stored };
}
