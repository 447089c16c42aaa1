import type { Metadata } from 'next';
import { ScannerOps } from './scanner-ops';

export const metadata: Metadata = { title: 'Scanner Ops' };

export default function Page() {
  return <ScannerOps />;
}
