// Applies the desired peer set to an existing hub interface with the `wg` CLI.
import { parseWgDump, type HubInterfaceStatus } from './dump.js';
import { checkInterfaceName, checkNetnsName } from './names.js';
import { planPeerChanges, validateHubPeers, type HubPeer, type PeerChangePlan } from './plan.js';
import { runIn, type CommandTarget } from './wg-command.js';
import { isWireGuardKey } from './keys.js';

/** What apply() changed, and the desired peers the interface did not take (e.g. its own public key). */
export interface AppliedPeerChanges extends PeerChangePlan {
  refused: HubPeer[];
}

export interface HubDriver {
  apply(desired: HubPeer[]): Promise<AppliedPeerChanges>;
  status(): Promise<HubInterfaceStatus>;
  /** The interface's own public key: one short `wg` run whatever the peer count (a liveness probe). */
  publicKey(): Promise<string>;
}

export interface WgCliHubDriverOptions {
  interfaceName: string;
  /** Run every command as `ip netns exec NETNS wg ...`. */
  netns?: string;
  wgBinary?: string;
  ipBinary?: string;
  /** Per command; default 10 s. */
  commandTimeoutMs?: number;
}

/**
 * Drives an existing interface with `wg` through argument arrays. apply() reads the current
 * peers (`wg show IF dump`), plans, then runs one `wg set IF peer K remove` per removal and one
 * `wg set IF peer K allowed-ips X` per update/addition (in that order). `wg set` succeeds even
 * when the interface ignores a peer (its own public key: wireguard-go and the kernel skip it),
 * so after any change the peers are read back and the desired ones still missing are returned
 * as `refused`. Idempotent: a second apply of the same set runs no `wg set`, except for refused
 * peers, which are planned again each time (the caller decides to stop asking). Calls on one
 * driver are serialized; several processes must not drive the same interface at once.
 */
export class WgCliHubDriver implements HubDriver {
  private readonly interfaceName: string;
  private readonly wgBinary: string;
  private readonly target: CommandTarget;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: WgCliHubDriverOptions) {
    checkInterfaceName(options.interfaceName);
    checkNetnsName(options.netns);
    this.interfaceName = options.interfaceName;
    this.wgBinary = options.wgBinary ?? 'wg';
    this.target = { netns: options.netns, ipBinary: options.ipBinary ?? 'ip', timeoutMs: options.commandTimeoutMs ?? 10_000 };
  }

  /** Validates `desired` (see validateHubPeers) before touching the interface. */
  async apply(desired: HubPeer[]): Promise<AppliedPeerChanges> {
    validateHubPeers(desired);
    return await this.serialized(async () => {
      const current = (await this.readStatus()).peers.map(({ publicKey, allowedIps }) => ({ publicKey, allowedIps }));
      const plan = planPeerChanges(current, desired);
      for (const key of plan.remove) await this.wg(['set', this.interfaceName, 'peer', key, 'remove']);
      const set = [...plan.update, ...plan.add];
      for (const peer of set) await this.wg(['set', this.interfaceName, 'peer', peer.publicKey, 'allowed-ips', peer.allowedIps.join(',')]);
      if (set.length === 0) return { ...plan, refused: [] };
      const after = (await this.readStatus()).peers.map(({ publicKey, allowedIps }) => ({ publicKey, allowedIps }));
      const missed = planPeerChanges(after, set);
      return { ...plan, refused: [...missed.add, ...missed.update] };
    });
  }

  status(): Promise<HubInterfaceStatus> {
    return this.serialized(() => this.readStatus());
  }

  /** Not queued behind apply(): reading the key while peers are set is safe and answers at once. */
  async publicKey(): Promise<string> {
    const key = (await this.wg(['show', this.interfaceName, 'public-key'])).trim();
    if (!isWireGuardKey(key)) throw new Error(`wg show ${this.interfaceName} public-key: not a key`);
    return key;
  }

  private async readStatus(): Promise<HubInterfaceStatus> {
    return parseWgDump(await this.wg(['show', this.interfaceName, 'dump']));
  }

  private wg(args: string[]): Promise<string> {
    return runIn(this.target, this.wgBinary, args);
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
