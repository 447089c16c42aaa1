import type { RemoteAccessDevice, RemoteAccessLab } from './remote-access-lab.js';

/** What api/test/lab-remote-access.spec.ts hands each group of cases (set in its beforeAll). */
export interface RemoteAccessContext {
  ra: RemoteAccessLab;
  /** A customer scanner container, enrolled by bootstrap.sh, its sshd configured for sessions. */
  device: RemoteAccessDevice;
}

export type ContextGetter = () => RemoteAccessContext;
