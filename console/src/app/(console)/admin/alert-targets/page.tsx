import type { Metadata } from 'next';
import { AlertTargets } from './alert-targets';

export const metadata: Metadata = { title: 'Alert delivery' };

export default function Page() {
  return <AlertTargets />;
}
