import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic-file.js';

/**
 * The least-privilege gvmd account the `scanner.provision-monitor` command creates
 * (agent/src/commands/scanner-actions.ts) and the GMP poll logs in with
 * (agent/src/scanner/integrator.ts). Its secret never leaves the device: it lives in the agent's
 * state directory, root-only (0600), and is never logged or reported. The same file remembers the
 * one-time check whether gvmd still accepts the container default `admin`/`admin`.
 */
export const MONITOR_ACCOUNT_FILE = 'gmp-monitor.json';
export const MONITOR_USERNAME = 'xspectre-monitor';

export const MonitorAccountSchema = z
  .object({
    username: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    password: z.string().min(16).max(256),
    createdAt: z.iso.datetime({ offset: true }),
    /** null: not checked; true: admin/admin still logs in. */
    defaultAdminPassword: z.boolean().nullable(),
    checkedAt: z.iso.datetime({ offset: true }).nullable(),
  })
  .strict();
export type MonitorAccount = z.infer<typeof MonitorAccountSchema>;

export function monitorAccountPath(stateDir: string): string {
  return join(stateDir, MONITOR_ACCOUNT_FILE);
}

/** The stored account, or null when none was provisioned (or the file is unreadable or invalid). */
export async function readMonitorAccount(stateDir: string): Promise<MonitorAccount | null> {
  let raw: string;
  try {
    raw = await readFile(monitorAccountPath(stateDir), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = MonitorAccountSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function writeMonitorAccount(stateDir: string, account: MonitorAccount): Promise<void> {
  await writeFileAtomic(monitorAccountPath(stateDir), `${JSON.stringify(MonitorAccountSchema.parse(account))}\n`, 0o600);
}
