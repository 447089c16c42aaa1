import { describe, expect, it } from 'vitest';
import {
  armRecoveryBoot,
  findRecoveryStick,
  GRUB_SCRIPT,
  GRUB_SCRIPT_PATH,
  parseEfibootmgr,
  parseLsblk,
  partitionNumber,
  pickEfiEntry,
  recoveryBootCommand,
  type RecoveryBootHost,
} from './recovery-boot.js';
import type { ProcessResult } from './run-process.js';

const ESP_UUID = '5e7a1c2b-0d3f-4a8e-9b61-2c4d6e8f0a12';

/** util-linux 2.38 (Debian 12): the main disk sda, the stick sdb (as recovery-usb/build.sh lays it out). */
const LSBLK = JSON.stringify({
  blockdevices: [
    {
      name: 'sda',
      path: '/dev/sda',
      type: 'disk',
      pkname: null,
      partlabel: null,
      label: null,
      partuuid: null,
      rm: false,
      size: 256060514304,
      children: [
        {
          name: 'sda1',
          path: '/dev/sda1',
          type: 'part',
          pkname: 'sda',
          partlabel: 'EFI',
          label: null,
          partuuid: 'aaaaaaaa-0000-4000-8000-000000000001',
          rm: false,
          size: 536870912,
        },
        {
          name: 'sda2',
          path: '/dev/sda2',
          type: 'part',
          pkname: 'sda',
          partlabel: null,
          label: 'root',
          partuuid: 'aaaaaaaa-0000-4000-8000-000000000002',
          rm: false,
          size: 255000000000,
        },
      ],
    },
    {
      name: 'sdb',
      path: '/dev/sdb',
      type: 'disk',
      pkname: null,
      partlabel: null,
      label: null,
      partuuid: null,
      rm: true,
      size: 174063616,
      children: [
        {
          name: 'sdb1',
          path: '/dev/sdb1',
          type: 'part',
          pkname: 'sdb',
          partlabel: 'BIOS-BOOT',
          label: null,
          partuuid: '11111111-2222-4333-8444-555555555551',
          rm: true,
          size: 1048576,
        },
        {
          name: 'sdb2',
          path: '/dev/sdb2',
          type: 'part',
          pkname: 'sdb',
          partlabel: 'EFI',
          label: 'XS-EFI',
          partuuid: ESP_UUID.toUpperCase(),
          rm: true,
          size: 67108864,
        },
        {
          name: 'sdb3',
          path: '/dev/sdb3',
          type: 'part',
          pkname: 'sdb',
          partlabel: 'XS-RECOVERY',
          label: 'XS-RECOVERY',
          partuuid: '11111111-2222-4333-8444-555555555553',
          rm: true,
          size: 88080384,
        },
        {
          name: 'sdb4',
          path: '/dev/sdb4',
          type: 'part',
          pkname: 'sdb',
          partlabel: 'XS-RECOVERY-CFG',
          label: 'XSRECOVCFG',
          partuuid: '11111111-2222-4333-8444-555555555554',
          rm: true,
          size: 16777216,
        },
      ],
    },
  ],
});
const LSBLK_NO_STICK = JSON.stringify({ blockdevices: [JSON.parse(LSBLK).blockdevices[0]] });

/** efibootmgr 17 -v on an OVMF machine with Debian installed. */
const EFI_V = [
  'BootCurrent: 0001',
  'Timeout: 0 seconds',
  'BootOrder: 0001,0000,0002',
  'Boot0000* UiApp\tFvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)',
  'Boot0001* debian\tHD(1,GPT,aaaaaaaa-0000-4000-8000-000000000001,0x800,0x100000)/File(\\EFI\\debian\\shimx64.efi)',
  'Boot0002* UEFI QEMU HARDDISK QM00001 \tPciRoot(0x0)/Pci(0x1f,0x2)/Sata(0,65535,0)N.....YM....R,Y.',
].join('\n');
const withStickEntry = (active: boolean) =>
  `${EFI_V}\nBoot0007${active ? '*' : ''} UEFI: USB SanDisk 3.2Gen1 1.00\tPciRoot(0x0)/Pci(0x14,0x0)/USB(3,0)/HD(2,GPT,${ESP_UUID.toUpperCase()},0x800,0x20000)/File(\\EFI\\BOOT\\BOOTX64.EFI)`;

describe('parseLsblk / findRecoveryStick', () => {
  it('finds the stick, its EFI partition number and PARTUUID (lower-cased)', () => {
    const found = findRecoveryStick(parseLsblk(LSBLK));
    expect(found).toEqual({
      ok: true,
      stick: {
        disk: { name: 'sdb', path: '/dev/sdb', removable: true },
        efi: { name: 'sdb2', path: '/dev/sdb2', partNumber: 2, partuuid: ESP_UUID },
        system: { name: 'sdb3', path: '/dev/sdb3' },
      },
    });
  });

  it('no stick: a clear reason naming the disks', () => {
    expect(findRecoveryStick(parseLsblk(LSBLK_NO_STICK))).toEqual({
      ok: false,
      reason: 'no recovery stick found: no disk has a partition named XS-RECOVERY and one named EFI (disks: sda)',
    });
  });

  it('two sticks: refused, never guessed', () => {
    const two = JSON.parse(LSBLK);
    const copy = JSON.parse(JSON.stringify(two.blockdevices[1]).replaceAll('sdb', 'sdc'));
    two.blockdevices.push(copy);
    const found = findRecoveryStick(parseLsblk(JSON.stringify(two)));
    expect(found).toMatchObject({ ok: false, reason: expect.stringMatching(/^more than one recovery stick: \/dev\/sdb, \/dev\/sdc/) });
  });

  it('a stick without its EFI partition is named in the reason', () => {
    const broken = JSON.parse(LSBLK);
    broken.blockdevices[1].children[1].partlabel = 'ESP';
    expect(findRecoveryStick(parseLsblk(JSON.stringify(broken)))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('sdb has 1 XS-RECOVERY and 0 EFI partitions'),
    });
  });

  it('partition numbers of sd, nvme and mmc names', () => {
    expect(partitionNumber('sdb', 'sdb2')).toBe(2);
    expect(partitionNumber('nvme0n1', 'nvme0n1p12')).toBe(12);
    expect(partitionNumber('mmcblk0', 'mmcblk0p1')).toBe(1);
    expect(partitionNumber('sdb', 'sdc2')).toBeNull();
    expect(partitionNumber('sdb', 'sdb')).toBeNull();
    expect(partitionNumber('sdb', 'sdb0')).toBeNull();
  });

  it('hostile or odd output: not JSON throws; bad names, paths and types are dropped; flat output and string rm work', () => {
    expect(() => parseLsblk('lsblk: unknown column')).toThrow('lsblk did not print JSON');
    expect(() => parseLsblk('{"x":1}')).toThrow('no blockdevices');
    expect(() => parseLsblk('null')).toThrow('no blockdevices');
    const devices = parseLsblk(
      JSON.stringify({
        blockdevices: [
          { name: 'sdb; rm -rf /', path: '/dev/sdb', type: 'disk' },
          { name: 'sdc', path: '../../etc/passwd', type: 'disk' },
          { name: 'sdd', path: '/dev/sdd', type: 'disk', rm: '1', size: '1000' },
          { name: 'sdd1', path: '/dev/sdd1', type: 'part', pkname: 'sdd', partlabel: 'EFI', partuuid: 7 },
          { name: 'sdd2', path: '/dev/sdd2', type: 'part', pkname: 'sdd', partlabel: 'XS-RECOVERY' },
          42,
          null,
          { name: 'x'.repeat(100), path: '/dev/x', type: 'disk' },
        ],
      }),
    );
    expect(devices.map((d) => d.name)).toEqual(['sdd', 'sdd1', 'sdd2']);
    expect(devices[0]).toMatchObject({ removable: true, sizeBytes: 1000 });
    // The flat form (pkname given) finds the stick too; a missing PARTUUID is kept as null.
    expect(findRecoveryStick(devices)).toMatchObject({
      ok: true,
      stick: { disk: { path: '/dev/sdd' }, efi: { partNumber: 1, partuuid: null } },
    });
  });
});

describe('parseEfibootmgr / pickEfiEntry', () => {
  it('reads BootOrder, BootNext, each entry, its label and its GPT PARTUUIDs (efibootmgr 17)', () => {
    const state = parseEfibootmgr(`BootNext: 0002\n${withStickEntry(true)}\n`);
    expect(state.bootOrder).toEqual(['0001', '0000', '0002']);
    expect(state.bootNext).toBe('0002');
    expect(state.entries.map((e) => [e.num, e.active, e.label])).toEqual([
      ['0000', true, 'UiApp'],
      ['0001', true, 'debian'],
      ['0002', true, 'UEFI QEMU HARDDISK QM00001'],
      ['0007', true, 'UEFI: USB SanDisk 3.2Gen1 1.00'],
    ]);
    expect(state.entries[1]!.partuuids).toEqual(['aaaaaaaa-0000-4000-8000-000000000001']);
    expect(pickEfiEntry(state, ESP_UUID)?.num).toBe('0007');
    expect(pickEfiEntry(state, '99999999-0000-4000-8000-000000000000')).toBeNull();
  });

  it('efibootmgr 18: no File() wrapper, two spaces instead of a tab, dp: lines', () => {
    const out = [
      'BootCurrent: 0001',
      'BootOrder: 0001,0003',
      `Boot0003  xSPECTRE Recovery  HD(2,GPT,${ESP_UUID},0x800,0x20000)/\\EFI\\BOOT\\BOOTX64.EFI`,
      '      dp: 04 01 2a 00 02 00 00 00 00 08 00 00 00 00 00 00',
      'Boot0001* debian  HD(1,GPT,aaaaaaaa-0000-4000-8000-000000000001,0x800,0x100000)/\\EFI\\debian\\shimx64.efi',
    ].join('\n');
    const state = parseEfibootmgr(out);
    expect(state.entries.map((e) => [e.num, e.active, e.label])).toEqual([
      ['0003', false, 'xSPECTRE Recovery'],
      ['0001', true, 'debian'],
    ]);
    expect(pickEfiEntry(state, ESP_UUID)).toMatchObject({ num: '0003', active: false });
  });

  it('prefers an active entry to an inactive one for the same partition', () => {
    const out = `${withStickEntry(false)}\nBoot0009* xSPECTRE Recovery\tHD(2,GPT,${ESP_UUID},0x800,0x20000)/File(\\EFI\\BOOT\\BOOTX64.EFI)`;
    expect(pickEfiEntry(parseEfibootmgr(out), ESP_UUID)?.num).toBe('0009');
  });

  it('hostile output: control characters and long labels bounded, junk lines ignored, malformed orders ignored', () => {
    const out = [
      'BootOrder: 0001,zz',
      'BootNext: 12345',
      `Boot000A* \u001b[31mevil${'x'.repeat(500)}\tHD(1,GPT,not-a-uuid,0x1,0x2)`,
      'Boot00* short',
      'random junk',
      '\u0000'.repeat(10),
    ].join('\n');
    const state = parseEfibootmgr(out);
    expect(state.bootOrder).toEqual([]);
    expect(state.bootNext).toBeNull();
    expect(state.entries).toHaveLength(1);
    expect(state.entries[0]!.num).toBe('000A');
    expect(state.entries[0]!.partuuids).toEqual([]);
    expect(state.entries[0]!.label.length).toBeLessThanOrEqual(81);
    expect(state.entries[0]!.label).not.toMatch(/\p{Cc}/u);
  });
});

// ---------------------------------------------------------------------------------------------

type Answer = { code?: number; stdout?: string; stderr?: string; missing?: boolean };
const result = (a: Answer): ProcessResult => ({
  code: a.missing ? null : (a.code ?? 0),
  signal: null,
  stdout: Buffer.from(a.stdout ?? ''),
  stderr: Buffer.from(a.stderr ?? ''),
  stdoutCut: false,
  stderrCut: false,
  ...(a.missing ? { error: 'x is not installed' } : {}),
});

/** Stands in for the tools: records every call, answers from a small model of the firmware and GRUB. */
class FakeMachine {
  calls: string[][] = [];
  files = new Map<string, { content: string; mode: number }>();
  lsblk = LSBLK;
  firmware: 'uefi' | 'bios' | 'efi-broken' = 'uefi';
  efi = EFI_V;
  bootNext: string | null = null;
  updateGrubMissing = false;
  writeFails = false;

  host: RecoveryBootHost = {
    run: async (file, args) => {
      this.calls.push([file, ...args]);
      if (file === 'lsblk') return result({ stdout: this.lsblk });
      if (file === 'efibootmgr') {
        if (this.firmware === 'bios') return result({ code: 2, stderr: 'EFI variables are not supported on this system.\n' });
        if (this.firmware === 'efi-broken') return result({ code: 5, stderr: 'efibootmgr: Could not read variable\n' });
        if (args[0] === '--create-only') {
          this.efi += `\nBoot0004* xSPECTRE Recovery\tHD(2,GPT,${ESP_UUID},0x800,0x20000)/File(\\EFI\\BOOT\\BOOTX64.EFI)`;
          return result({ stdout: this.efi.replace(/\tHD\([^\n]*|\t[^\n]*/g, '') });
        }
        if (args[0] === '--bootnext') this.bootNext = args[1]!;
        return result({ stdout: `${this.bootNext ? `BootNext: ${this.bootNext}\n` : ''}${this.efi}\n` });
      }
      if (file === 'update-grub')
        return this.updateGrubMissing ? result({ missing: true }) : result({ stderr: 'Generating grub configuration file ...\ndone\n' });
      if (file === 'grub-mkconfig' || file === 'grub-reboot' || file === 'systemctl') return result({});
      throw new Error(`unexpected ${file}`);
    },
    exists: async () => false,
    writeFile: async (path, content, mode) => {
      if (this.writeFails) throw new Error(`EROFS: read-only file system, open '${path}'`);
      this.files.set(path, { content, mode });
    },
  };
}

describe('armRecoveryBoot', () => {
  it('UEFI with a firmware entry for the stick: BootNext to it, nothing created, BootOrder never written', async () => {
    const m = new FakeMachine();
    m.efi = withStickEntry(true);
    const armed = await armRecoveryBoot(m.host);
    expect(armed).toMatchObject({ ok: true, firmware: 'uefi' });
    expect(m.calls).toEqual([
      ['lsblk', '--json', '--bytes', '-o', 'NAME,PATH,TYPE,PKNAME,PARTLABEL,LABEL,PARTUUID,RM,SIZE'],
      ['efibootmgr', '-v'],
      ['efibootmgr', '--bootnext', '0007'],
    ]);
    expect(armed.lines.join('\n')).toContain('boot entry: Boot0007 "UEFI: USB SanDisk 3.2Gen1 1.00" (existing)');
    expect(armed.lines.at(-1)).toBe('one-time boot: BootNext=0007; BootOrder unchanged (0001,0000,0002)');
  });

  it('UEFI without an entry: creates one with --create-only (not in BootOrder), then BootNext to it', async () => {
    const m = new FakeMachine();
    const armed = await armRecoveryBoot(m.host);
    expect(armed).toMatchObject({ ok: true, firmware: 'uefi' });
    expect(m.calls.slice(1)).toEqual([
      ['efibootmgr', '-v'],
      [
        'efibootmgr',
        '--create-only',
        '--disk',
        '/dev/sdb',
        '--part',
        '2',
        '--label',
        'xSPECTRE Recovery',
        '--loader',
        '\\EFI\\BOOT\\BOOTX64.EFI',
      ],
      ['efibootmgr', '-v'],
      ['efibootmgr', '--bootnext', '0004'],
    ]);
    const efibootmgrArgs = m.calls.filter((c) => c[0] === 'efibootmgr').flat();
    expect(efibootmgrArgs).not.toContain('--bootorder');
    expect(efibootmgrArgs).not.toContain('-o');
    expect(armed.lines.join('\n')).toContain(
      'boot entry: Boot0004 "xSPECTRE Recovery" (created: efibootmgr --create-only --disk /dev/sdb --part 2',
    );
  });

  it('UEFI with only an inactive entry: activates it (BootOrder untouched) before BootNext', async () => {
    const m = new FakeMachine();
    m.efi = withStickEntry(false);
    expect(await armRecoveryBoot(m.host)).toMatchObject({ ok: true });
    expect(m.calls.slice(2)).toEqual([
      ['efibootmgr', '--bootnum', '0007', '--active'],
      ['efibootmgr', '--bootnext', '0007'],
    ]);
  });

  it('legacy BIOS: writes the GRUB entry, update-grub, grub-reboot by title', async () => {
    const m = new FakeMachine();
    m.firmware = 'bios';
    const armed = await armRecoveryBoot(m.host);
    expect(armed).toMatchObject({ ok: true, firmware: 'bios' });
    expect(m.files.get(GRUB_SCRIPT_PATH)).toEqual({ content: GRUB_SCRIPT, mode: 0o755 });
    expect(m.calls.slice(1)).toEqual([['efibootmgr', '-v'], ['update-grub'], ['grub-reboot', 'xSPECTRE Recovery']]);
    expect(armed.lines.at(-1)).toBe("one-time boot: grub-reboot 'xSPECTRE Recovery' (the default entry is unchanged)");
  });

  it('legacy BIOS without update-grub: grub-mkconfig -o /boot/grub/grub.cfg', async () => {
    const m = new FakeMachine();
    m.firmware = 'bios';
    m.updateGrubMissing = true;
    expect(await armRecoveryBoot(m.host)).toMatchObject({ ok: true });
    expect(m.calls.slice(2)).toEqual([
      ['update-grub'],
      ['grub-mkconfig', '-o', '/boot/grub/grub.cfg'],
      ['grub-reboot', 'xSPECTRE Recovery'],
    ]);
  });

  it('no stick: fails with the lookup reason and runs nothing after lsblk', async () => {
    const m = new FakeMachine();
    m.lsblk = LSBLK_NO_STICK;
    expect(await armRecoveryBoot(m.host)).toEqual({
      ok: false,
      reason: 'no recovery stick found: no disk has a partition named XS-RECOVERY and one named EFI (disks: sda)',
      lines: [],
    });
    expect(m.calls.map((c) => c[0])).toEqual(['lsblk']);
    expect(m.files.size).toBe(0);
  });

  it('efibootmgr failing for another reason is not taken for BIOS: fails, GRUB untouched', async () => {
    const m = new FakeMachine();
    m.firmware = 'efi-broken';
    expect(await armRecoveryBoot(m.host)).toMatchObject({
      ok: false,
      reason: 'cannot read the UEFI boot entries: efibootmgr exit 5: efibootmgr: Could not read variable',
    });
    expect(m.files.size).toBe(0);
    expect(m.calls.map((c) => c[0])).toEqual(['lsblk', 'efibootmgr']);
  });

  it('a read-only /etc on BIOS: fails before update-grub', async () => {
    const m = new FakeMachine();
    m.firmware = 'bios';
    m.writeFails = true;
    expect(await armRecoveryBoot(m.host)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^cannot write \/etc\/grub\.d\/42_xspectre_recovery: EROFS/),
    });
    expect(m.calls.map((c) => c[0])).toEqual(['lsblk', 'efibootmgr']);
  });
});

describe('xspectre-agent recovery-boot', () => {
  const capture = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t) } };
  };

  it('arms, then reboots with systemctl reboot; the lines say what was done', async () => {
    const m = new FakeMachine();
    const { out, io } = capture();
    expect(await recoveryBootCommand([], io, m.host)).toBe(0);
    expect(m.calls.at(-1)).toEqual(['systemctl', 'reboot']);
    expect(out.stdout).toMatch(/^recovery stick: \/dev\/sdb \(removable\)/);
    expect(out.stdout).toContain('one-time boot: BootNext=0004');
    expect(out.stdout.endsWith('rebooting (systemctl reboot)\n')).toBe(true);
  });

  it('no stick: exit 1, the reason on stderr, no reboot', async () => {
    const m = new FakeMachine();
    m.lsblk = LSBLK_NO_STICK;
    const { out, io } = capture();
    expect(await recoveryBootCommand([], io, m.host)).toBe(1);
    expect(out.stderr).toMatch(/^no recovery stick found: /);
    expect(m.calls.flat()).not.toContain('reboot');
  });

  it('takes no arguments', async () => {
    const { io } = capture();
    expect(await recoveryBootCommand(['--now'], io, new FakeMachine().host)).toBe(2);
  });
});
