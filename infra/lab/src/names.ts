// Every name the lab creates is `xsl-<id>-<role>`: unique per lab (random id), at most 15
// characters where it is an interface name, and recognisable by the sweeper.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const LAB_PREFIX = 'xsl-';
const ID_RE = /^[0-9a-f]{6}$/;
const NAME_RE = /^xsl-([0-9a-f]{6})-[a-z0-9]+$/;
export const MAX_DEVICES = 999;

/** Runtime root: state files, device config roots, logs, the lab's Docker socket. */
export const RUN_ROOT = '/run/xspectre-lab';
/** Build cache: the device root filesystem tarball (survives reboots, outside the clone). */
export const CACHE_ROOT = '/var/cache/xspectre-lab';
/** Docker's data root (images, containers) for the lab's own dockerd. */
export const DOCKER_DATA_ROOT = '/var/lib/xspectre-lab/docker';

/** The repository checkout this package belongs to (infra/lab/dist → ../../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function newLabId(): string {
  return randomBytes(3).toString('hex');
}

export function checkLabId(id: string): string {
  if (!ID_RE.test(id)) throw new TypeError(`lab id must be 6 hex digits, got ${JSON.stringify(id)}`);
  return id;
}

/** The lab id in a lab-made name, or undefined for anything else. */
export function labIdOf(name: string): string | undefined {
  return NAME_RE.exec(name)?.[1];
}

export function labNames(id: string) {
  checkLabId(id);
  return {
    bridge: `xsl-${id}-br`,
    hub: `xsl-${id}-hub`,
    /** Runtime directory of this lab. */
    dir: `${RUN_ROOT}/labs/${id}`,
    stateFile: `${RUN_ROOT}/labs/${id}.json`,
    containerLabel: `xspectre-lab=${id}`,
    database: `xspectre_lab_${id}`,
  };
}

/** Names of device `n` (1-based): its namespace, the bridge end of its veth, its WireGuard interface, its container. */
export function deviceNames(id: string, n: number) {
  checkLabId(id);
  if (!Number.isInteger(n) || n < 1 || n > MAX_DEVICES) throw new RangeError(`device number must be 1-${MAX_DEVICES}`);
  return {
    name: `d${n}`,
    netns: `xsl-${id}-d${n}`,
    veth: `xsl-${id}-v${n}`,
    wireguard: `xsl-${id}-w${n}`,
    container: `xsl-${id}-c${n}`,
  };
}

/** Underlay: the hub side is 198.18.0.1/16; device n gets 198.18.(1 + (n-1) / 250).(1 + (n-1) % 250). */
export const UNDERLAY_HUB_ADDRESS = '198.18.0.1';
export const UNDERLAY_PREFIX = 16;
export function underlayAddress(n: number): string {
  return `198.18.${1 + Math.floor((n - 1) / 250)}.${1 + ((n - 1) % 250)}`;
}

/** Overlay (the address plan in ARCHITECTURE.md): the hub is 10.10.0.1/24. */
export const OVERLAY_HUB_ADDRESS = '10.10.0.1';
export const OVERLAY_PREFIX = 24;
