import type { Metadata } from 'next';
import { SessionPlayer } from './session-player';

export const metadata: Metadata = { title: 'Session recording' };

export default function Page() {
  return <SessionPlayer />;
}
