import type { Metadata } from 'next';
import { DeviceTerminal } from './device-terminal';

export const metadata: Metadata = { title: 'Device terminal' };

export default function Page() {
  return <DeviceTerminal />;
}
