import type { Metadata } from 'next';
import { DeviceInventory } from './device-inventory';

export const metadata: Metadata = { title: 'Devices' };

export default function DevicesPage() {
  return <DeviceInventory />;
}
