import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandAlreadyStartedError, CommandJournal, type NewJournalEntry } from './command-journal.js';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

let dir: string;
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'xspectre-cmd-journal-')), 'journal');
});
afterEach(() => rm(join(dir, '..'), { recursive: true, force: true }));

const open = async (now = T0) => (await CommandJournal.open(dir, now)).journal;
const entry = (over: Partial<NewJournalEntry> = {}): NewJournalEntry => ({
  commandId: randomUUID(),
  action: 'service.restart',
  params: { unit: 'nginx.service' },
  nonce: 'ab'.repeat(16),
  expiresAt: at(5 * 60_000).toISOString(),
  bootMarker: 'boot-1:2',
  unit: null,
  ...over,
});

describe('CommandJournal', () => {
  it('writes started to a file (0600) before returning, and keeps it across a restart', async () => {
    const journal = await open();
    const e = entry();
    await journal.begin(e, T0);
    const file = join(dir, `${e.commandId}.json`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ commandId: e.commandId, startedAt: T0.toISOString(), result: null });
    expect(await readdir(dir)).toEqual([`${e.commandId}.json`]); // no temp file left

    const reopened = await open();
    expect(reopened.unfinished().map((x) => x.commandId)).toEqual([e.commandId]);
    expect(reopened.get(e.commandId)).toMatchObject({ action: 'service.restart', bootMarker: 'boot-1:2', runningReported: false });
  });

  it('never starts a command twice, also after a restart', async () => {
    const journal = await open();
    const e = entry();
    await journal.begin(e, T0);
    await expect(journal.begin(e, T0)).rejects.toBeInstanceOf(CommandAlreadyStartedError);
    await expect((await open()).begin(e, T0)).rejects.toBeInstanceOf(CommandAlreadyStartedError);
  });

  it('records running, the result and the report, each durably', async () => {
    const journal = await open();
    const e = entry();
    await journal.begin(e, T0);
    await journal.markRunningReported(e.commandId);
    await journal.finish(e.commandId, { status: 'failed', exitCode: 5, stderr: 'Unit nginx.service not found.' }, at(2000));
    let reopened = await open();
    expect(reopened.unfinished()).toEqual([]);
    expect(reopened.unreported().map((x) => x.commandId)).toEqual([e.commandId]);
    expect(reopened.get(e.commandId)).toMatchObject({
      runningReported: true,
      result: { status: 'failed', exitCode: 5 },
      finishedAt: at(2000).toISOString(),
    });
    await reopened.markReported(e.commandId);
    reopened = await open();
    expect(reopened.unreported()).toEqual([]);
  });

  it('prunes only reported entries, once their command expired long enough ago', async () => {
    const journal = await open();
    const done = entry();
    const open1 = entry();
    const unreported = entry();
    for (const e of [done, open1, unreported]) await journal.begin(e, T0);
    await journal.finish(done.commandId, { status: 'succeeded', exitCode: 0 }, T0);
    await journal.markReported(done.commandId);
    await journal.finish(unreported.commandId, { status: 'succeeded', exitCode: 0 }, T0);
    const keep = 10 * 60_000;
    expect(await journal.prune(at(5 * 60_000 + keep - 1), keep)).toBe(0);
    expect(await journal.prune(at(5 * 60_000 + keep), keep)).toBe(1);
    expect(journal.get(done.commandId)).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual([`${open1.commandId}.json`, `${unreported.commandId}.json`].sort());
  });

  it('turns a damaged entry into an interrupted command that is never run again', async () => {
    const id = randomUUID();
    expect((await open()).size).toBe(0); // creates the directory
    await writeFile(join(dir, `${id}.json`), '{"v":1,"commandId":');
    await writeFile(join(dir, 'notes.txt'), 'ignored');
    const { journal, warnings } = await CommandJournal.open(dir, T0);
    expect(warnings).toEqual([`command journal entry ${id}.json was damaged: the command is reported interrupted, never run again`]);
    expect(journal.unreported()).toEqual([
      expect.objectContaining({ commandId: id, result: expect.objectContaining({ status: 'interrupted' }) as unknown }),
    ]);
    await expect(journal.begin(entry({ commandId: id }), T0)).rejects.toBeInstanceOf(CommandAlreadyStartedError);
  });
});
