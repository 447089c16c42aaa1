import type { Metadata } from 'next';
import { FleetCommands } from './fleet-commands';

export const metadata: Metadata = { title: 'Commands' };

export default function Page() {
  return <FleetCommands />;
}
