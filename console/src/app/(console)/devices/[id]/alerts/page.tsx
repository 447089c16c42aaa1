import type { Metadata } from 'next';
import { DeviceAlerts } from './device-alerts';

export const metadata: Metadata = { title: 'Device alerts' };

export default function Page() {
  return <DeviceAlerts />;
}
