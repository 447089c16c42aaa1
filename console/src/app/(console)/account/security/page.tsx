import type { Metadata } from 'next';
import { AccountSecurity } from './account-security';

export const metadata: Metadata = { title: 'Sign-in security' };

export default function Page() {
  return <AccountSecurity />;
}
