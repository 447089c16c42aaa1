import type { Metadata } from 'next';
import { Organizations } from './organizations';

export const metadata: Metadata = { title: 'Organizations & sites' };

export default function Page() {
  return <Organizations />;
}
