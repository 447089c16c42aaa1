// The hub's peer set: validation and the diff between what is and what should be.
import { parseCidr } from './ipv4.js';
import { check, checkAllowedIps, checkKey } from './validate.js';

export interface HubPeer {
  publicKey: string;
  allowedIps: string[];
}

export interface PeerChangePlan {
  add: HubPeer[];
  remove: string[];
  update: HubPeer[];
}

/**
 * Checks a desired hub peer set: valid keys, each key once, every allowed IP a host route
 * (`/32`: no customer LAN and no cross-site route reaches the hub), no address claimed by two
 * peers (WireGuard would silently move it to the last one). Throws TypeError.
 */
export function validateHubPeers(peers: readonly HubPeer[]): void {
  const keys = new Set<string>();
  const owners = new Map<string, string>();
  for (const peer of peers) {
    checkKey(peer.publicKey, 'peer publicKey');
    check(!keys.has(peer.publicKey), `peer ${peer.publicKey} is listed twice`);
    keys.add(peer.publicKey);
    checkAllowedIps(peer.allowedIps, `peer ${peer.publicKey}`);
    for (const cidr of peer.allowedIps) {
      check(parseCidr(cidr)?.prefixLength === 32, `peer ${peer.publicKey} allowed IP '${cidr}' is not a /32`);
      const owner = owners.get(cidr);
      check(owner === undefined || owner === peer.publicKey, `allowed IP ${cidr} is claimed by ${owner} and ${peer.publicKey}`);
      owners.set(cidr, peer.publicKey);
    }
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((item) => right.has(item));
}

/** Pure diff; peer order and allowed-IP order do not matter. add/update follow `desired`, remove follows `current`. */
export function planPeerChanges(current: HubPeer[], desired: HubPeer[]): PeerChangePlan {
  const existing = new Map(current.map((peer) => [peer.publicKey, peer]));
  const wanted = new Set<string>();
  const plan: PeerChangePlan = { add: [], remove: [], update: [] };
  for (const peer of desired) {
    if (wanted.has(peer.publicKey)) continue; // a duplicate: the first entry counts
    wanted.add(peer.publicKey);
    const now = existing.get(peer.publicKey);
    if (!now) plan.add.push(peer);
    else if (!sameSet(now.allowedIps, peer.allowedIps)) plan.update.push(peer);
  }
  plan.remove = [...new Set(current.map((peer) => peer.publicKey))].filter((key) => !wanted.has(key));
  return plan;
}
