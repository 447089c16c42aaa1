import type { Metadata } from 'next';
import { Silences } from './silences';

export const metadata: Metadata = { title: 'Silences' };

export default function Page() {
  return <Silences />;
}
