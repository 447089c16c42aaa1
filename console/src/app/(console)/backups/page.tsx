import type { Metadata } from 'next';
import { FleetBackups } from './fleet-backups';

export const metadata: Metadata = { title: 'Backups' };

export default function Page() {
  return <FleetBackups />;
}
