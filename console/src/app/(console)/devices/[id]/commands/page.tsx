import type { Metadata } from 'next';
import { DeviceCommands } from './device-commands';

export const metadata: Metadata = { title: 'Device commands' };

export default function Page() {
  return <DeviceCommands />;
}
