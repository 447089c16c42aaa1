import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { ConsoleE2e, TestDevice } from './e2e.js';

/**
 * Backup runs carried through the agent's real routes for the console's backup tests: a run asked
 * for by hand, delivered as `backup.run`, reported running, its progress posted, and finished
 * with the agent's result line (agent/src/backups/backup-result.ts). Age keys come from the `age`
 * CLI, as an operator would make them.
 */

/** A full restic snapshot id (64 hex digits) starting with `prefix`. */
export const fullId = (prefix: string) => prefix.padEnd(64, '0');

export function summaryOf(snapshotId: string, bytes: number) {
  return {
    snapshotId,
    filesNew: 3,
    filesChanged: 1,
    filesUnmodified: 40,
    dataAddedBytes: Math.round(bytes / 4),
    totalFiles: 44,
    totalBytes: bytes,
    durationSeconds: 75,
    unreadableFiles: 0,
  };
}

export async function setFile(e: ConsoleE2e, device: TestDevice, paths = ['/etc', '/srv/data']): Promise<void> {
  const r = await e.api.request('PUT', `devices/${device.id}/backup-policy`, { token: e.admin, body: { mode: 'FILE', paths } });
  expect(r.status, r.text).toBe(200);
}

export interface CarriedRun {
  runId: string;
  commandId: string;
  progress: (percentDone: number, secondsRemaining: number | null) => Promise<void>;
  succeed: (result: Record<string, unknown>) => Promise<void>;
  fail: (reason: string) => Promise<void>;
}

/** Back up now (through the API), then the agent's side: the command polled and reported running. */
export async function startRun(e: ConsoleE2e, device: TestDevice): Promise<CarriedRun> {
  const started = await e.api.request('POST', `devices/${device.id}/backup-runs`, { token: e.admin });
  expect(started.status, started.text).toBe(201);
  const runId = started.body.id as string;
  const polled = await e.api.request('GET', 'agent/commands?waitSeconds=0', { token: device.credential });
  const command = (polled.body.commands as Array<{ commandId: string; action: string; params: { runId: string } }>).find(
    (c) => c.action === 'backup.run' && c.params.runId === runId,
  );
  expect(command, polled.text).toBeDefined();
  const commandId = command!.commandId;
  const status = (body: unknown) => e.api.request('POST', `agent/commands/${commandId}/status`, { token: device.credential, body });
  const running = await status({ status: 'running' });
  expect(running.status, running.text).toBe(200);
  return {
    runId,
    commandId,
    async progress(percentDone, secondsRemaining) {
      const totalBytes = 40 * 1024 * 1024;
      const r = await e.api.request('POST', 'agent/backup-progress', {
        token: device.credential,
        body: {
          runId,
          progress: {
            phase: 'backup',
            percentDone,
            filesDone: Math.round(percentDone * 440),
            totalFiles: 440,
            bytesDone: Math.round(percentDone * totalBytes),
            totalBytes,
            secondsElapsed: 30,
            secondsRemaining,
          },
        },
      });
      expect(r.status, r.text).toBe(200);
    },
    async succeed(result) {
      const r = await status({ status: 'succeeded', exitCode: 0, stdout: `backup of 2 paths\n${JSON.stringify(result)}\n` });
      expect(r.status, r.text).toBe(200);
    },
    async fail(reason) {
      const r = await status({ status: 'failed', exitCode: 1, stderr: 'Fatal: unable to open repository\n', reason });
      expect(r.status, r.text).toBe(200);
    },
  };
}

/** An age identity made with age-keygen: its file and its recipient (age1…). */
export function ageKey(name: string): { file: string; recipient: string } {
  const dir = mkdtempSync(join(tmpdir(), 'xs-age-'));
  const file = join(dir, `${name}.key`);
  execFileSync('age-keygen', ['-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const recipient = execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim();
  return { file, recipient };
}

export function ageEncrypt(recipient: string, text: string): string {
  return execFileSync('age', ['-a', '-r', recipient], { input: text, encoding: 'utf8' });
}

export function ageDecrypt(identityFile: string, armored: string): string {
  return execFileSync('age', ['-d', '-i', identityFile], { input: armored, encoding: 'utf8' });
}

/** Steps the admin's API token up (for critical API routes used in set-up). */
export async function stepUpAdmin(e: ConsoleE2e): Promise<void> {
  const r = await e.api.request('POST', 'auth/step-up', { token: e.admin, body: { code: await e.adminCode() } });
  expect(r.status, r.text).toBe(200);
}

/** Answers the TOTP prompt when the console shows one (a step-up younger than the window needs none). */
export async function confirmStepUpIfAsked(e: ConsoleE2e, p: Page): Promise<boolean> {
  const heading = p.getByRole('heading', { name: 'Confirm a critical action' });
  try {
    await heading.waitFor({ timeout: 3000 });
  } catch {
    return false;
  }
  await e.confirmStepUp(p);
  return true;
}
