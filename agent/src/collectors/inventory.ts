import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InventoryReportSchema, type InventoryReport } from '@xspectre/contracts';
import { AGENT_BUILD_ID, AGENT_VERSION } from '../version.js';
import { ensureDirectory, writeFileAtomic } from '../atomic-file.js';
import { collectFacts } from '../facts.js';
import { enrolledHostKeyFile, readHostKeyOrNull } from '../ssh/host-key.js';
import { SSH_SETUP_PATHS } from '../ssh-setup.js';

export const INVENTORY_HASH_FILE = 'inventory.sha256';

/** The MAC list (every interface, for the fingerprint) is left out: veths coming and going change nothing. */
export const inventoryHash = ({ macs: _macs, ...report }: InventoryReport) =>
  createHash('sha256').update(JSON.stringify(report)).digest('hex');

export interface DueInventory {
  inventory: InventoryReport;
  hash: string;
}

/**
 * What the inventory reports: the hardware facts, the NICs and MACs (for the fingerprint), the
 * agent version and build id, and the SSH host key (the file enrollment reported; absent when
 * unreadable), so the API sees a changed host key before anyone opens a terminal.
 */
export async function collectInventory(hostKeyFile: string = SSH_SETUP_PATHS.hostKey): Promise<InventoryReport> {
  const facts = await collectFacts();
  const build = AGENT_BUILD_ID === null ? {} : { agentBuildId: AGENT_BUILD_ID };
  const hostKey = await readHostKeyOrNull(hostKeyFile);
  return {
    ...facts.hardware,
    macs: facts.macs,
    nics: facts.nics,
    agentVersion: AGENT_VERSION,
    ...build,
    ...(hostKey === null ? {} : { sshHostKey: hostKey }),
  };
}

/**
 * The hardware inventory goes out at start (until one heartbeat carrying it is acknowledged)
 * and whenever it changed. The hash of the last acknowledged inventory is kept in the state dir.
 */
export class InventoryTracker {
  private sentThisRun = false;
  private lastHash: string | null | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly hardware: () => Promise<InventoryReport> = async () => collectInventory(await enrolledHostKeyFile(stateDir)),
  ) {}

  private get path() {
    return join(this.stateDir, INVENTORY_HASH_FILE);
  }

  /** The inventory when it is due in this heartbeat, else null. */
  async due(): Promise<DueInventory | null> {
    const inventory = InventoryReportSchema.parse(await this.hardware());
    const hash = inventoryHash(inventory);
    this.lastHash ??= await readFile(this.path, 'utf8').then(
      (text) => text.trim(),
      () => null,
    );
    return !this.sentThisRun || hash !== this.lastHash ? { inventory, hash } : null;
  }

  /** A heartbeat carrying the inventory with this hash was acknowledged. */
  async acknowledged(hash: string): Promise<void> {
    this.sentThisRun = true;
    if (hash === this.lastHash) return;
    await ensureDirectory(this.stateDir);
    await writeFileAtomic(this.path, `${hash}\n`, 0o600);
    this.lastHash = hash;
  }
}
