import type { Metadata } from 'next';
import { DeviceBackups } from './device-backups';

export const metadata: Metadata = { title: 'Device backups' };

export default function Page() {
  return <DeviceBackups />;
}
