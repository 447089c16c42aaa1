import type { Metadata } from 'next';
import { DeviceScanner } from './device-scanner';

export const metadata: Metadata = { title: 'Scanner' };

export default function Page() {
  return <DeviceScanner />;
}
