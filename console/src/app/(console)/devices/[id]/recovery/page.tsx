import type { Metadata } from 'next';
import { DeviceRecovery } from './device-recovery';

export const metadata: Metadata = { title: 'Device recovery' };

export default function Page() {
  return <DeviceRecovery />;
}
