import type { Metadata } from 'next';
import { AlertDeliveries } from './alert-deliveries';

export const metadata: Metadata = { title: 'Dead letters' };

export default function Page() {
  return <AlertDeliveries />;
}
