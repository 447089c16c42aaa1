import type { Metadata } from 'next';
import { AlertRules } from './alert-rules';

export const metadata: Metadata = { title: 'Alert rules' };

export default function Page() {
  return <AlertRules />;
}
