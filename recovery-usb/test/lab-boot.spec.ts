// The recovery stick image, built for real and booted for real: recovery-usb/build.sh twice (the
// rootfs comes from its cache under /var/cache/xspectre-recovery after the first run; a cold cache
// runs debootstrap against Debian's mirror), the two images must be byte-identical, then qemu (TCG,
// no KVM) boots the image as a USB stick once with SeaBIOS and once with OVMF, with a 64 MiB
// target disk and user-mode networking (its DHCP server answers; restrict=on keeps the guest off
// every other network). Needs root, debootstrap, grub-pc-bin, grub-efi-amd64-bin, mtools,
// dosfstools, gdisk, cpio, zstd, qemu-system-x86 and ovmf (infra/scripts/lib.sh LAB_APT_PACKAGES).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BUILD = fileURLToPath(new URL('../build.sh', import.meta.url));
const IMAGE = 'xspectre-recovery.img';
const TARGET_BYTES = 64 * 1024 * 1024;
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

let dir: string;
let outA: string;
let outB: string;
const running = new Set<ResultPromise>();

const sha256File = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });

async function build(out: string): Promise<string> {
  const r = await execa(BUILD, ['--out', out], { reject: false, all: true, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`build.sh failed (${r.exitCode}):\n${r.all}`);
  return r.all;
}

interface Boot {
  lines: string[];
  /** qemu start to `ready`, for the log (TCG speed varies with the machine's load; never asserted). */
  seconds: number;
  /** The XSPECTRE-RECOVERY lines only, without the prefix. */
  steps: string[];
}

/** Boots the image and reads the serial console until `XSPECTRE-RECOVERY ready`; qemu is killed after. */
async function boot(firmware: 'bios' | 'uefi', image: string, target: string): Promise<Boot> {
  const args = [
    '-machine',
    'q35',
    '-m',
    '1024',
    '-smp',
    '2',
    '-display',
    'none',
    '-vga',
    'none',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-no-reboot',
    // The stick as what it is, a USB mass-storage device on an xHCI controller (both firmwares
    // boot from it); snapshot=on, so the boot never writes to the built image.
    '-device',
    'qemu-xhci,id=xhci',
    '-drive',
    `file=${image},format=raw,if=none,id=stick,snapshot=on`,
    '-device',
    'usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0',
    // The disk a recovery would image: q35's AHCI controller, like a server's SATA disk.
    '-drive',
    `file=${target},format=raw,if=none,id=target`,
    '-device',
    'ide-hd,drive=target,bus=ide.0',
    '-netdev',
    'user,id=net0,restrict=on',
    '-device',
    'e1000,netdev=net0',
  ];
  if (firmware === 'uefi') {
    const vars = join(dir, 'OVMF_VARS.fd');
    await copyFile(OVMF_VARS, vars);
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${vars}`);
  }
  const started = Date.now();
  const qemu = execa('qemu-system-x86_64', args, { reject: false, buffer: false, stdin: 'ignore', stderr: 'pipe' });
  running.add(qemu);
  const lines: string[] = [];
  let readyAt = 0;
  let stderr = '';
  qemu.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      let pending = '';
      qemu.stdout?.on('data', (c: Buffer) => {
        pending += c.toString('latin1');
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const raw of parts) {
          // Firmware and GRUB draw with escape sequences; keep the text.
          // eslint-disable-next-line no-control-regex -- ESC is what those sequences start with
          const line = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
          lines.push(line);
          if (/XSPECTRE-RECOVERY ready\b/.test(line)) {
            readyAt = Date.now();
            resolve();
          }
        }
      });
      void qemu.then((r) => reject(new Error(`qemu exited (${r.exitCode}) before ready:\n${stderr}\n${lines.slice(-60).join('\n')}`)));
    });
  } finally {
    qemu.kill('SIGKILL');
    await qemu;
    running.delete(qemu);
  }
  const seconds = (readyAt - started) / 1000;
  const steps = lines.map((l) => /XSPECTRE-RECOVERY (.*)$/.exec(l)?.[1]).filter((s): s is string => s !== undefined);
  return { lines, steps, seconds };
}

function expectRecoveryBoot(b: Boot, firmware: 'bios' | 'uefi') {
  const text = b.steps.join('\n');
  // The target disk, with its exact size, is a target; the stick is recognised as itself.
  expect(text).toMatch(
    new RegExp(`^step=hardware disk=sd[a-z] size=${TARGET_BYTES} model="QEMU HARDDISK" .*removable=0 .*role=target$`, 'm'),
  );
  expect(text).toMatch(/^step=hardware disk=sd[a-z] size=\d+ .*removable=1 .*role=recovery-stick$/m);
  expect(text).toMatch(/^step=hardware nic=\S+ mac=52:54:00:\S+ driver=e1000$/m);
  expect(text).toMatch(new RegExp(`^step=hardware ok disks=2 nics=1 .*firmware=${firmware} `, 'm'));
  // qemu's user-mode network hands out 10.0.2.15; with restrict=on its DHCP answer carries no
  // router and no DNS server (the guest is meant to reach nothing), so the gateway is "none".
  expect(text).toMatch(/^step=network ok iface=eth0 addr=10\.0\.2\.15\/24 gw=none dns=none$/m);
  expect(text).toMatch(/^step=network done up=1 down=0 /m);
  expect(text).toMatch(/^step=config ok device=\/dev\/sd[a-z]4 stick=sd[a-z] keys=PROFILE$/m);
  expect(text).toMatch(/^step=agent absent path=\/usr\/local\/bin\/xspectre-recovery$/m);
  expect(b.steps.at(-1)).toMatch(/^ready uptime=\d+\.\d+$/);
}

describe('recovery stick image', () => {
  let target: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-recovery-'));
    outA = join(dir, 'a');
    outB = join(dir, 'b');
    // A target disk with known content (a repeating, numbered pattern), as imaging will need.
    target = join(dir, 'target.img');
    const block = Buffer.alloc(1024 * 1024);
    const chunks: Buffer[] = [];
    for (let i = 0; i < TARGET_BYTES / block.length; i++) {
      block.fill(`xspectre-target-block-${i}\n`);
      chunks.push(Buffer.from(block));
    }
    await writeFile(target, Buffer.concat(chunks));
  }, 60_000);

  afterAll(async () => {
    for (const q of running) q.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'builds the image with a manifest and checksums',
    async () => {
      const log = await build(outA);
      const manifest = JSON.parse(await readFile(join(outA, 'manifest.json'), 'utf8')) as {
        suite: string;
        recipeHash: string;
        kernel: string;
        imageSizeBytes: number;
        packages: { name: string; version: string; arch: string }[];
      };
      const img = join(outA, IMAGE);
      const size = (await stat(img)).size;
      expect(manifest.suite).toBe('bookworm');
      expect(manifest.recipeHash).toMatch(/^[0-9a-f]{64}$/);
      expect(manifest.kernel).toMatch(/^6\.\d+\.\d+-\d+-amd64$/);
      expect(manifest.imageSizeBytes).toBe(size);
      expect(size).toBeLessThan(1024 * 1024 * 1024);
      const names = new Map(manifest.packages.map((p) => [p.name, p.version]));
      for (const p of ['linux-image-amd64', 'wireguard-tools', 'zstd', 'curl', 'smartmontools', 'parted', 'efibootmgr', 'busybox']) {
        expect(names.get(p), p).toMatch(/^\S+$/);
      }
      expect(names.get(`linux-image-${manifest.kernel}`)).toBeDefined();

      // SHA256SUMS beside the image is right.
      const sums = await readFile(join(outA, 'SHA256SUMS'), 'utf8');
      expect(sums).toContain(`${await sha256File(img)}  ${IMAGE}\n`);

      // GPT: BIOS boot, ESP, system, CONFIG named XS-RECOVERY-CFG.
      const gpt = (await execa('sgdisk', ['-p', img])).stdout;
      expect(gpt).toMatch(/^\s+1\s+\d+\s+\d+\s+1024\.0 KiB\s+EF02\s+BIOS-BOOT$/m);
      expect(gpt).toMatch(/^\s+2\s+.*EF00\s+EFI$/m);
      expect(gpt).toMatch(/^\s+3\s+.*0700\s+XS-RECOVERY$/m);
      expect(gpt).toMatch(/^\s+4\s+.*0700\s+XS-RECOVERY-CFG$/m);

      // The same manifest is inside the image, on the system partition (read with mtools at its offset).
      const start = Number(/^\s+3\s+(\d+)\s/m.exec(gpt)?.[1]);
      const inside = (await execa('mtype', ['-i', `${img}@@${start * 512}`, '::/manifest.json'])).stdout;
      expect(JSON.parse(inside)).toEqual(manifest);
      console.log(
        log
          .split('\n')
          .filter((l) => /done:|rootfs|sha256/.test(l))
          .join('\n'),
      );
    },
    40 * 60_000,
  );

  it(
    'builds the same bytes a second time',
    async () => {
      await build(outB);
      expect(await sha256File(join(outB, IMAGE))).toBe(await sha256File(join(outA, IMAGE)));
      expect(await readFile(join(outB, 'manifest.json'), 'utf8')).toBe(await readFile(join(outA, 'manifest.json'), 'utf8'));
    },
    20 * 60_000,
  );

  for (const firmware of ['bios', 'uefi'] as const) {
    it(
      `boots with ${firmware === 'bios' ? 'SeaBIOS (legacy)' : 'OVMF (UEFI)'} to ready: target disk seen, DHCP address`,
      async () => {
        const before = await sha256File(target);
        const b = await boot(firmware, join(outA, IMAGE), target);
        expectRecoveryBoot(b, firmware);
        // The recovery system only looked at the target disk.
        expect(await sha256File(target)).toBe(before);
        console.log(`${firmware}: ${b.steps.at(-1)} (qemu start to ready: ${b.seconds.toFixed(1)} s)`);
      },
      10 * 60_000,
    );
  }
});
