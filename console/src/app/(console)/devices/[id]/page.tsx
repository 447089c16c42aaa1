import type { Metadata } from 'next';
import { DevicePage } from './device-page';

export const metadata: Metadata = { title: 'Device' };

export default function Page() {
  return <DevicePage />;
}
