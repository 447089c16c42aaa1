import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type ContainerDevice, type Lab } from '@xspectre/lab';
import { TestApi } from './harness.js';

/** One enrolled lab device container (systemd, sshd) that bootstrap.sh configured for terminal sessions. */
export interface RemoteAccessDevice {
  id: string;
  name: string;
  overlayAddress: string;
  container: ContainerDevice;
}

/**
 * The lab every remote-access test shares (api/test/lab-remote-access.spec.ts): a real hub, the
 * API in the root namespace (so its SSH sessions leave from the hub's 10.10.0.1), a customer
 * organization and an internal one, and device containers enrolled by the real bootstrap.sh.
 * Recordings go to a temporary directory removed at teardown.
 */
export class RemoteAccessLab {
  private constructor(
    readonly lab: Lab,
    readonly api: TestApi,
    readonly admin: string,
    readonly customerSite: { organizationId: string; siteId: string },
    readonly internalSite: { organizationId: string; siteId: string },
    readonly recordingsDir: string,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<RemoteAccessLab> {
    const recordingsDir = await mkdtemp(join(tmpdir(), 'xs-recordings-'));
    const lab = await startLab({ containers: true, log: (line) => console.log(`lab: ${line}`) });
    try {
      const api = await TestApi.start(
        {
          ...lab.apiEnv(),
          API_AGENT_HEARTBEAT_SECONDS: '5',
          API_WG_RECONCILE_SECONDS: '2',
          API_TERMINAL_RECORDINGS_DIR: join(recordingsDir, 'recordings'),
          ...env,
        },
        { host: '0.0.0.0', port: lab.apiPort },
      );
      const admin = await api.adminToken();
      const site = async (name: string, kind: 'customer' | 'internal') => {
        const org = await api.request('POST', 'organizations', { token: admin, body: { name, kind } });
        const s = await api.request('POST', 'sites', {
          token: admin,
          body: { organizationId: org.body.id, name: 'Main', timeZone: 'UTC' },
        });
        return { organizationId: org.body.id as string, siteId: s.body.id as string };
      };
      return new RemoteAccessLab(
        lab,
        api,
        admin,
        await site('Remote Customer', 'customer'),
        await site('Remote Internal', 'internal'),
        recordingsDir,
      );
    } catch (error) {
      await lab.teardown();
      throw error;
    }
  }

  /** Creates a device, starts a container and runs the real bootstrap.sh with its claim code (throws unless it succeeds). */
  async addDevice(name: string, options: { internal?: boolean } = {}): Promise<RemoteAccessDevice> {
    const site = options.internal ? this.internalSite : this.customerSite;
    const created = await this.api.request('POST', 'devices', { token: this.admin, body: { name, ...site, type: 'scanner' } });
    if (created.status !== 201) throw new Error(`create device: ${created.status} ${created.text}`);
    const container = await this.lab.addContainerDevice({ hostname: name });
    const result = await container.bootstrap(created.body.claimCode.code);
    if (result.exitCode !== 0) throw new Error(`bootstrap of ${name} failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
    return { id: created.body.device.id, name, overlayAddress: result.overlayAddress!, container };
  }

  async stop(): Promise<void> {
    await this.api.stop();
    await this.lab.teardown();
    await rm(this.recordingsDir, { recursive: true, force: true });
  }
}
