import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, open, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { RecoveryConfSchema, type RecoveryConf } from '@xspectre/contracts';
import { GptError, SECTOR_BYTES, entryArrayBytes, parseGptEntries, parseGptHeader, partitionNamed, type GptPartition } from './gpt.js';

/** The stick's CONFIG partition (recovery-usb/README.md, "Disk layout"). */
export const CONFIG_PARTITION_NAME = 'XS-RECOVERY-CFG';
export const CONFIG_FILE = 'recovery.conf';

export class RecoveryImageError extends Error {}

/** `KEY=VALUE` lines in the schema's key order; checked against RecoveryConfSchema first, never logged. */
export function renderRecoveryConf(conf: RecoveryConf): string {
  const checked = RecoveryConfSchema.parse(conf);
  const lines: string[] = [];
  for (const key of Object.keys(RecoveryConfSchema.shape) as Array<keyof RecoveryConf>) {
    const value = checked[key];
    if (value === undefined) continue;
    if (/[\r\n\0]/.test(value)) throw new RecoveryImageError(`recovery.conf value of ${key} contains a line break`);
    lines.push(`${key}=${value}`);
  }
  return lines.join('\n') + '\n';
}

/** Reads the image's GPT and finds the CONFIG partition; RecoveryImageError when it is not the expected layout. */
export async function findConfigPartition(imagePath: string): Promise<GptPartition> {
  const handle = await open(imagePath, 'r');
  try {
    const { size } = await handle.stat();
    const headerSector = Buffer.alloc(SECTOR_BYTES);
    await handle.read(headerSector, 0, SECTOR_BYTES, SECTOR_BYTES);
    const header = parseGptHeader(headerSector, size);
    const entries = Buffer.alloc(entryArrayBytes(header));
    await handle.read(entries, 0, entries.length, Number(header.entriesLba) * SECTOR_BYTES);
    const partition = partitionNamed(parseGptEntries(entries, header), CONFIG_PARTITION_NAME);
    if (partition.offsetBytes + partition.sizeBytes > size) throw new GptError(`${CONFIG_PARTITION_NAME} lies beyond the end of the image`);
    return partition;
  } catch (error) {
    if (error instanceof GptError) throw new RecoveryImageError(error.message);
    throw error;
  } finally {
    await handle.close();
  }
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** mtools without ~/.mtoolsrc surprises and without its drive geometry check (the partition is a file region). */
const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };

/**
 * Copies the generic image to `target` (a reflink where the file system can) and replaces
 * `recovery.conf` in its CONFIG partition with `conf`. `workDir` is private (0700): the
 * rendered file lives there for the `mcopy` only. Returns the personalised image's SHA-256 and
 * size. On any failure `target` is removed.
 */
export async function personaliseImage(options: {
  genericImage: string;
  target: string;
  workDir: string;
  conf: RecoveryConf;
}): Promise<{ sha256: string; sizeBytes: number }> {
  const content = renderRecoveryConf(options.conf);
  await mkdir(options.workDir, { recursive: true, mode: 0o700 });
  await chmod(options.workDir, 0o700);
  const confFile = join(options.workDir, `.${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.conf`);
  try {
    await copyFile(options.genericImage, options.target, constants.COPYFILE_FICLONE);
    await chmod(options.target, 0o600);
    const partition = await findConfigPartition(options.target);
    await writeFile(confFile, content, { mode: 0o600, flag: 'wx' });
    const result = await execa('mcopy', ['-o', '-i', `${options.target}@@${partition.offsetBytes}`, confFile, `::${CONFIG_FILE}`], {
      env: MTOOLS_ENV,
      reject: false,
      timeout: 60_000,
    });
    if (result.exitCode !== 0) {
      throw new RecoveryImageError(
        `mcopy could not write ${CONFIG_FILE} into ${CONFIG_PARTITION_NAME}: ${String(result.stderr).slice(0, 300)}`,
      );
    }
    const sizeBytes = (await stat(options.target)).size;
    return { sha256: await sha256OfFile(options.target), sizeBytes };
  } catch (error) {
    await rm(options.target, { force: true });
    throw error;
  } finally {
    await unlink(confFile).catch(() => undefined);
  }
}

/** Reads `recovery.conf` back out of an image (tests, and a check after writing). */
export async function readRecoveryConf(imagePath: string): Promise<string> {
  const partition = await findConfigPartition(imagePath);
  const result = await execa('mtype', ['-i', `${imagePath}@@${partition.offsetBytes}`, `::${CONFIG_FILE}`], {
    env: MTOOLS_ENV,
    timeout: 60_000,
  });
  return result.stdout;
}
