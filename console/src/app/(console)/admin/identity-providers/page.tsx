import type { Metadata } from 'next';
import { IdentityProviders } from './identity-providers';

export const metadata: Metadata = { title: 'Identity providers' };

export default function Page() {
  return <IdentityProviders />;
}
