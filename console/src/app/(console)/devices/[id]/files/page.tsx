import type { Metadata } from 'next';
import { DeviceFiles } from './device-files';

export const metadata: Metadata = { title: 'Device files' };

export default function Page() {
  return <DeviceFiles />;
}
