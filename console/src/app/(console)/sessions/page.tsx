import type { Metadata } from 'next';
import { RemoteSessions } from './remote-sessions';

export const metadata: Metadata = { title: 'Remote sessions' };

export default function Page() {
  return <RemoteSessions />;
}
