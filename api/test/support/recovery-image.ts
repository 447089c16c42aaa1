import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * A small stand-in for the generic recovery stick image (recovery-usb/README.md, "Disk layout"):
 * the same four GPT partitions by name, partition 4 `XS-RECOVERY-CFG` a FAT file system holding
 * `recovery.conf.example`, built the way build.sh builds it (mkfs.fat on a file, sgdisk, dd) but
 * 16 MiB instead of 166 MiB and with nothing bootable in it.
 */
export async function buildRecoveryImageFixture(): Promise<{ dir: string; image: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'xs-recovery-fixture-'));
  const image = join(dir, 'xspectre-recovery.img');
  const cfg = join(dir, 'cfg.fat');
  const example = join(dir, 'recovery.conf.example');
  const MiB = 1024 * 1024;
  // Partitions at 1 MiB steps: BIOS-BOOT 1 MiB, EFI 1 MiB, XS-RECOVERY 1 MiB, XS-RECOVERY-CFG 4 MiB.
  await execa('truncate', ['-s', String(16 * MiB), image]);
  await execa('sgdisk', [
    '--clear',
    '-n', '1:2048:+1M', '-t', '1:EF02', '-c', '1:BIOS-BOOT',
    '-n', '2:4096:+1M', '-t', '2:EF00', '-c', '2:EFI',
    '-n', '3:6144:+1M', '-t', '3:0700', '-c', '3:XS-RECOVERY',
    '-n', '4:8192:+4M', '-t', '4:0700', '-c', '4:XS-RECOVERY-CFG',
    image,
  ]); // prettier-ignore
  await execa('mkfs.fat', ['-C', '-n', 'XSRECOVCFG', cfg, String(4 * 1024)]);
  await writeFile(example, 'XS_RECOVERY_CONF_VERSION=1\n# written by the API when a recovery medium is created\n');
  await execa('mcopy', ['-i', cfg, example, '::recovery.conf.example'], { env: { MTOOLS_SKIP_CHECK: '1' } });
  await execa('dd', [`if=${cfg}`, `of=${image}`, 'bs=512', `seek=${8192}`, 'conv=notrunc', 'status=none']);
  await rm(cfg);
  await rm(example);
  return { dir, image, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The CONFIG partition's byte offset in the fixture (sector 8192). */
export const FIXTURE_CONFIG_OFFSET = 8192 * 512;
