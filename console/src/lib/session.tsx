'use client';

import type { MeResponse, Permission } from '@xspectre/contracts';
import { createContext, useContext } from 'react';

export interface Session {
  me: MeResponse;
  can: (permission: Permission) => boolean;
  /** Reads the operator again (role, TOTP state); resolves once the new answer is in place. */
  reload: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

/** The signed-in operator; only inside the console shell. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside the console shell');
  return session;
}

export function sessionOf(me: MeResponse, reload: () => Promise<void>): Session {
  const granted = new Set(me.permissions);
  return { me, can: (p) => granted.has(p), reload };
}
