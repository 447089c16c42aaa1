import type { ReactNode } from 'react';
import { DeviceFrame } from './device-frame';

/** Every tab of a device (overview, commands, …) shares the header, the Actions menu and the tab bar, fetched once. */
export default function DeviceLayout({ children }: { children: ReactNode }) {
  return <DeviceFrame>{children}</DeviceFrame>;
}
