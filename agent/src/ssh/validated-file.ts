import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { syncDirectory } from '../atomic-file.js';

/**
 * As writeFileAtomic (agent/src/atomic-file.ts), with `validate(tempPath)` run on the complete
 * temp file before it replaces `path` (visudo -cf): a rejected file never takes effect. The temp
 * name starts with a dot and contains dots, which sudo's includedir skips.
 */
export async function writeValidatedFileAtomic(
  path: string,
  data: string,
  mode: number,
  validate: (tempPath: string) => Promise<void>,
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(data, 'utf8');
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await validate(temp);
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
}
