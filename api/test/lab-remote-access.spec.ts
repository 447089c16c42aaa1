import { afterAll, beforeAll, describe } from 'vitest';
import { RemoteAccessLab } from './support/remote-access-lab.js';
import type { RemoteAccessContext } from './support/remote-access-context.js';
import { setupCases } from './remote-access/setup.cases.js';
import { terminalCases } from './remote-access/terminal.cases.js';
import { filesCases } from './remote-access/files.cases.js';
import { hostKeysCases } from './remote-access/host-keys.cases.js';

/**
 * Terminal and file sessions over SSH, end to end in the fleet lab: device containers (systemd,
 * sshd) enrolled by the real bootstrap.sh, the API on the hub host opening SSH over WireGuard with
 * short-lived certificates. One lab for every group (a container lab costs minutes to start);
 * the groups run in this order, the ones that change the device's host key last.
 */
describe('remote access in the fleet lab', () => {
  let context: RemoteAccessContext | undefined;
  const get = (): RemoteAccessContext => {
    if (!context) throw new Error('the remote-access lab did not start');
    return context;
  };

  beforeAll(async () => {
    const ra = await RemoteAccessLab.start();
    try {
      context = { ra, device: await ra.addDevice('ra-scanner-1') };
    } catch (error) {
      await ra.stop();
      throw error;
    }
  }, 25 * 60_000);

  afterAll(async () => {
    await context?.ra.stop();
  }, 180_000);

  describe('device SSH setup', () => setupCases(get));
  describe('terminal', () => terminalCases(get));
  describe('files', () => filesCases(get));
  describe('host keys and certificates', () => hostKeysCases(get));
});
