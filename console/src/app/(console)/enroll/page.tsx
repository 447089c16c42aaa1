import type { Metadata } from 'next';
import { Enrollment } from './enrollment';

export const metadata: Metadata = { title: 'Enrollment' };

export default function EnrollPage() {
  return <Enrollment />;
}
