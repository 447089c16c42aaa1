// The recovery stick image, built for real and booted for real: recovery-usb/build.sh twice with
// the agent's single executable (the lab builds it: ensureAgentExecutable; the rootfs comes from
// its cache under /var/cache/xspectre-recovery after the first run; a cold cache runs debootstrap
// against Debian's mirror), the two images must be byte-identical, then qemu (TCG, no KVM) boots
// the image as a USB stick once with SeaBIOS and once with OVMF, with a 64 MiB target disk and
// user-mode networking (its DHCP server answers; restrict=on keeps the guest off every other
// network), and a recovery.conf pointing at an API it cannot reach: the agent starts, reads it,
// brings its tunnel up and retries its registration. Needs root, debootstrap, grub-pc-bin,
// grub-efi-amd64-bin, mtools, dosfstools, gdisk, cpio, zstd, qemu-system-x86 and ovmf
// (infra/scripts/lib.sh LAB_APT_PACKAGES).
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecoveryConfSchema } from '@xspectre/contracts';
import { commandKeyId } from '@xspectre/contracts/command-signature';
import { AGENT_SEA, ensureAgentExecutable } from '@xspectre/lab';

const BUILD = fileURLToPath(new URL('../build.sh', import.meta.url));
const IMAGE = 'xspectre-recovery.img';
const TARGET_BYTES = 64 * 1024 * 1024;
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

let dir: string;
let outA: string;
let outB: string;
/** A copy of the agent executable taken once: both builds get the same bytes whatever rebuilds agent/dist meanwhile. */
let agent: string;
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
  const r = await execa(BUILD, ['--out', out, '--agent', agent], { reject: false, all: true, stdin: 'ignore' });
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

/** The recovery agent's registration failing (the API is unreachable) and its retry: the agent got that far. */
const AGENT_RETRIES = /XSPECTRE-RECOVERY step=agent register fail .*retry_s=\d+/;

/**
 * Boots the image and reads the serial console until `until` (after `XSPECTRE-RECOVERY ready`);
 * qemu is killed after.
 */
async function boot(firmware: 'bios' | 'uefi', image: string, target: string, until = AGENT_RETRIES): Promise<Boot> {
  const args = [
    '-machine',
    'q35',
    '-m',
    '1536',
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
          if (/XSPECTRE-RECOVERY ready\b/.test(line)) readyAt = Date.now();
          if (readyAt && until.test(line)) resolve();
          else if (/XSPECTRE-RECOVERY step=agent (config fail|stop)/.test(line))
            reject(new Error(`the agent stopped before ${until}:\n${lines.slice(-60).join('\n')}`));
        }
      });
      const timer = setTimeout(() => reject(new Error(`no ${until} within 8 min:\n${lines.slice(-60).join('\n')}`)), 8 * 60_000);
      void qemu.finally(() => clearTimeout(timer));
      void qemu.then((r) => reject(new Error(`qemu exited (${r.exitCode}) before ${until}:\n${stderr}\n${lines.slice(-60).join('\n')}`)));
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
  expect(text).toMatch(/^step=config ok device=\/dev\/sd[a-z]4 stick=sd[a-z] keys=XS_RECOVERY_CONF_VERSION,XS_DEVICE_ID,/m);
  // /init started the agent; the agent's own lines follow (the config by key, never a secret).
  expect(text).toMatch(/^step=agent ok started pid=\d+ path=\/usr\/local\/bin\/xspectre-recovery$/m);
  expect(text).toMatch(/^ready uptime=\d+\.\d+$/m);
  expect(text).toMatch(/^step=agent start version=\S+ pid=\d+$/m);
  expect(text).toMatch(new RegExp(`^step=agent config ok device=${conf.deviceId} medium=${conf.mediumId} api=\\S+ keys=1$`, 'm'));
  expect(text).toMatch(/^step=agent hardware ok disks=sd[a-z]:(target|recovery-stick),sd[a-z]:(target|recovery-stick) nics=1 /m);
  expect(text).toMatch(/^step=agent tunnel ok via=kernel /m);
  expect(text).toMatch(/^step=agent register fail reason=.* retry_s=\d+$/m);
  expect(text).not.toContain(conf.privateKey);
}

/** A recovery.conf as the API writes it, for an API and hub nobody answers at (the guest reaches nothing). */
const conf = (() => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const deviceId = randomUUID();
  const mediumId = randomUUID();
  const privateKey = randomBytes(32).toString('base64');
  const text = [
    'XS_RECOVERY_CONF_VERSION=1',
    `XS_DEVICE_ID=${deviceId}`,
    `XS_MEDIUM_ID=${mediumId}`,
    'XS_API_URL=http://10.10.0.1:3000/api/v1',
    `XS_CREDENTIAL=xsr1.${mediumId}.${randomBytes(32).toString('base64url')}`,
    `XS_WG_PRIVATE_KEY=${privateKey}`,
    'XS_WG_ADDRESS=10.10.0.240/32',
    `XS_WG_HUB_PUBLIC_KEY=${randomBytes(32).toString('base64')}`,
    'XS_WG_HUB_ENDPOINT=198.18.0.1:51820',
    'XS_WG_ALLOWED_IPS=10.10.0.0/24',
    `XS_COMMAND_KEYS=${commandKeyId(publicKey)}:${spki.toString('base64')}`,
    '',
  ].join('\n');
  // What the agent checks first (agent/src/recovery/conf.ts): a wrong test conf fails here, not in a 10-minute boot.
  RecoveryConfSchema.parse(
    Object.fromEntries(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ),
  );
  return { deviceId, mediumId, privateKey, text };
})();

/** A copy of the image with `conf.text` as its CONFIG partition's recovery.conf (what personalisation does, with mtools). */
async function personalised(image: string): Promise<string> {
  const copy = join(dir, 'personalised.img');
  await copyFile(image, copy);
  const gpt = (await execa('sgdisk', ['-p', copy])).stdout;
  const start = Number(/^\s+4\s+(\d+)\s/m.exec(gpt)?.[1]);
  const file = join(dir, 'recovery.conf');
  await writeFile(file, conf.text, { mode: 0o600 });
  await execa('mcopy', ['-o', '-i', `${copy}@@${start * 512}`, file, '::/recovery.conf'], { env: { MTOOLS_SKIP_CHECK: '1' } });
  return copy;
}

describe('recovery stick image', () => {
  let target: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-recovery-'));
    outA = join(dir, 'a');
    outB = join(dir, 'b');
    await ensureAgentExecutable((line) => console.log(`agent: ${line}`));
    agent = join(dir, 'xspectre-agent');
    await copyFile(AGENT_SEA, agent);
    // A target disk with known content (a repeating, numbered pattern), as imaging will need.
    target = join(dir, 'target.img');
    const block = Buffer.alloc(1024 * 1024);
    const chunks: Buffer[] = [];
    for (let i = 0; i < TARGET_BYTES / block.length; i++) {
      block.fill(`xspectre-target-block-${i}\n`);
      chunks.push(Buffer.from(block));
    }
    await writeFile(target, Buffer.concat(chunks));
  }, 20 * 60_000);

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
        agent: { version: string; buildId: string; sha256: string; sizeBytes: number } | null;
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
      for (const p of [
        'linux-image-amd64',
        'wireguard-tools',
        'zstd',
        'curl',
        'smartmontools',
        'parted',
        'fdisk',
        'openssh-server',
        'efibootmgr',
        'busybox',
      ]) {
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

      // The agent is the executable given, as it reports itself.
      const version = (await execa(agent, ['--version'], { env: {}, extendEnv: false })).stdout.trim();
      const buildId = (await execa(agent, ['build-id'], { env: {}, extendEnv: false })).stdout.trim();
      expect(manifest.agent).toEqual({ version, buildId, sha256: await sha256File(agent), sizeBytes: (await stat(agent)).size });

      // Inside the initramfs: the agent, its wrapper, sshd and sfdisk; no SSH host key.
      const initrd = join(dir, 'initrd.img');
      await execa('mcopy', ['-i', `${img}@@${start * 512}`, '::/boot/initrd.img', initrd], { env: { MTOOLS_SKIP_CHECK: '1' } });
      const listing = (await execa('sh', ['-c', 'zstd -q -d -c "$1" | cpio -t --quiet', 'sh', initrd], { maxBuffer: 64 * 1024 * 1024 }))
        .stdout;
      await rm(initrd);
      const files = new Set(listing.split('\n'));
      for (const f of ['usr/local/bin/xspectre-agent', 'usr/local/bin/xspectre-recovery', 'usr/sbin/sshd', 'usr/sbin/sfdisk', 'init'])
        expect(files.has(f), f).toBe(true);
      expect(listing.split('\n').filter((f) => /(^|\/)ssh_host_[^/]*key/.test(f))).toEqual([]);
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
        const b = await boot(firmware, await personalised(join(outA, IMAGE)), target);
        expectRecoveryBoot(b, firmware);
        // The recovery system only looked at the target disk.
        expect(await sha256File(target)).toBe(before);
        console.log(`${firmware}: ${b.steps.find((s) => s.startsWith('ready'))} (qemu start to ready: ${b.seconds.toFixed(1)} s)`);
        console.log(b.steps.filter((s) => s.startsWith('step=agent')).join('\n'));
      },
      10 * 60_000,
    );
  }
});
